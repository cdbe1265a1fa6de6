//! Device names (`--device`, an estimator's `device`) resolved to burn devices.

use burn::tensor::Device;

use crate::error::{Error, Result};

/// Resolves a device name: `cpu` (burn's flex backend) or, when built with the feature, `cuda`,
/// `cuda:N`, `wgpu`.
pub fn device_from_name(name: &str) -> Result<Device> {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "cpu" | "flex" => Ok(Device::flex()),
        #[cfg(feature = "cuda")]
        s if s == "cuda" || s.starts_with("cuda:") => {
            let index = s.strip_prefix("cuda:").unwrap_or("0");
            let index: usize = index
                .parse()
                .map_err(|_| Error::param("device", name, "expected cuda:<index>"))?;
            Ok(Device::cuda(index))
        }
        #[cfg(feature = "wgpu")]
        "wgpu" | "gpu" => Ok(Device::wgpu(Default::default())),
        s if s.starts_with("cuda") || s == "wgpu" || s == "gpu" => Err(Error::param(
            "device",
            name,
            "this build has no GPU backend; rebuild with \
             `cargo build --release --features cuda` (or `--features wgpu`)",
        )),
        _ => Err(Error::param(
            "device",
            name,
            format!(
                "expected cpu{}{}",
                if cfg!(feature = "cuda") {
                    ", cuda or cuda:N"
                } else {
                    ""
                },
                if cfg!(feature = "wgpu") { ", wgpu" } else { "" },
            ),
        )),
    }
}
