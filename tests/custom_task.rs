//! Runs examples/custom_task.rs (a new data type and a CNN backbone, trained with CoNAL and the
//! trainer unchanged): the extension API works end to end.

#[path = "../examples/custom_task.rs"]
mod custom_task;

#[test]
fn custom_backbone_and_data_type_train_with_conal() {
    let (conal_accuracy, mv_accuracy) = custom_task::run(2000, 30, 0).unwrap();
    assert!(
        conal_accuracy > 0.85,
        "CoNAL + CNN test accuracy {conal_accuracy}"
    );
    assert!(
        mv_accuracy < 0.85,
        "the crowd should be noisy: majority vote {mv_accuracy}"
    );
}
