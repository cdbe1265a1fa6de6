//! The exponential moving average of a module's weights (`TrainConfig::ema`).

/// `decay · average + (1 − decay) · current`, parameter by parameter (matched by id).
pub(crate) fn ema_update<M: burn::module::Module>(average: M, current: &M, decay: f64) -> M {
    use burn::module::{ModuleMapper, ModuleVisitor, Param, ParamId};
    use burn::tensor::Tensor;
    use std::collections::HashMap;
    struct Collect(HashMap<ParamId, Tensor<1>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let t = param.val();
            let n = t.shape().num_elements();
            self.0.insert(param.id, t.reshape([n]));
        }
    }
    struct Blend(HashMap<ParamId, Tensor<1>>, f64);
    impl ModuleMapper for Blend {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let Some(new) = self.0.remove(&param.id) else {
                return param;
            };
            let decay = self.1;
            param.map(|old| {
                let dims = old.dims();
                old.mul_scalar(decay) + new.reshape(dims).mul_scalar(1.0 - decay)
            })
        }
    }
    let mut values = Collect(HashMap::new());
    current.visit(&mut values);
    average.map(&mut Blend(values.0, decay))
}
