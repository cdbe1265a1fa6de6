//! The divergence guard: which parameter, if any, has a NaN or infinite entry in its gradient
//! or its values.

use burn::optim::GradientsParams;

/// Sums every gradient entry (or, without gradients, every parameter entry) of a module, one
/// reduction per parameter, and names the parameters on the way (for the message if a sum
/// is not finite).
struct FiniteCheck<'a> {
    grads: Option<&'a GradientsParams>,
    path: Vec<String>,
    sums: Vec<(String, burn::tensor::Tensor<1>)>,
}

impl burn::module::ModuleVisitor for FiniteCheck<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(
        &mut self,
        param: &burn::module::Param<burn::tensor::Tensor<D>>,
    ) {
        // The plain sum is NaN or infinite whenever an entry is (a finite sum of finite
        // entries overflows only when training has diverged anyway).
        let sum = match self.grads {
            Some(grads) => grads.get::<D>(param.id).map(|g| g.sum()),
            None => Some(param.val().sum()),
        };
        if let Some(sum) = sum {
            self.sums.push((self.path.join("."), sum));
        }
    }
}

/// The name of a parameter with a NaN or infinite entry in its gradient (`grads`) or, without
/// `grads`, in its values; `None` if there is none. One read-back when all is well.
pub(crate) fn non_finite<M: burn::module::Module>(
    model: &M,
    grads: Option<&GradientsParams>,
) -> Option<String> {
    let mut visitor = FiniteCheck {
        grads,
        path: Vec::new(),
        sums: Vec::new(),
    };
    model.visit(&mut visitor);
    let total = visitor
        .sums
        .iter()
        .map(|(_, s)| s.clone())
        .reduce(|a, b| a + b)?;
    if total.into_scalar::<f32>().is_finite() {
        return None;
    }
    // Find the culprit (rare, so a second read-back per parameter is fine).
    for (name, sum) in visitor.sums {
        if !sum.into_scalar::<f32>().is_finite() {
            return Some(if name.is_empty() {
                "a parameter".into()
            } else {
                name
            });
        }
    }
    // Every parameter's own sum is finite: only adding them up overflowed, so no entry is
    // NaN or infinite.
    None
}
