//! Loaders on the real public files (counts from ../shared/data/README.md) and on bad input.

mod common;

use std::path::Path;

use conal::data::{labelme, music, synthetic::SyntheticConfig};

#[test]
fn music_loader_counts() {
    let Some(dir) = common::shared_data("music_genre") else {
        return;
    };
    let train = music::load(&dir).unwrap();
    assert_eq!(train.n_items(), 700);
    assert_eq!(train.annotations.len(), 2945);
    assert_eq!(train.n_workers(), 44);
    assert_eq!(train.n_features(), 124);
    assert_eq!(
        train.classes,
        [
            "blues",
            "classical",
            "country",
            "disco",
            "hiphop",
            "jazz",
            "metal",
            "pop",
            "reggae",
            "rock"
        ]
    );
    // Labels per song: 1 to 7; per worker: 2 to 368 (README).
    let per_worker = train.labels_per_worker();
    assert_eq!(per_worker.iter().min(), Some(&2));
    assert_eq!(per_worker.iter().max(), Some(&368));
    // The id column (which names the genre) is not a feature.
    assert!(train.items[0].ends_with(".mp3"));
    let truth = train.truth.as_ref().unwrap();
    let metal = train.classes.iter().position(|c| c == "metal").unwrap() as u32;
    assert_eq!(truth.iter().filter(|&&y| y == Some(metal)).count(), 75);
    let test = music::load_labeled(&dir.join(music::TEST), &train.classes, 124).unwrap();
    assert_eq!(test.len(), 300);
}

#[test]
fn labelme_loader_counts() {
    let Some(dir) = common::shared_data("labelme") else {
        return;
    };
    let train = labelme::load(&dir, labelme::Features::Vgg).unwrap();
    assert_eq!(train.n_items(), 1000);
    assert_eq!(train.annotations.len(), 2547);
    assert_eq!(train.n_workers(), 59);
    assert_eq!(train.n_features(), 512);
    // Worker ids are the original column numbers; 0 and 2 are among the empty ones.
    assert_eq!(train.workers[0], "1");
    assert!(!train.workers.contains(&"0".to_string()));
    // Images have 1/2/3 labels: 42/369/589 (README).
    let mut per_item = vec![0usize; 1000];
    for a in &train.annotations {
        per_item[a.item as usize] += 1;
    }
    let count = |n| per_item.iter().filter(|&&c| c == n).count();
    assert_eq!((count(1), count(2), count(3)), (42, 369, 589));
    let valid =
        labelme::load_labeled(&dir, labelme::Split::Valid, labelme::Features::Vgg, None).unwrap();
    let test =
        labelme::load_labeled(&dir, labelme::Split::Test, labelme::Features::Vgg, None).unwrap();
    assert_eq!((valid.len(), test.len()), (500, 1188));
    // The bag-of-words features: 200 words, scaled to average 1.
    let bow = labelme::load(&dir, labelme::Features::Bow).unwrap();
    assert_eq!(bow.n_features(), 200);
    let mean: f32 = bow.features.row(0).iter().sum::<f32>() / 200.0;
    assert!((mean - 1.0).abs() < 1e-3, "{mean}");
}

#[test]
fn labelme_matches_the_59_column_copy() {
    let Some(dir) = common::shared_data("labelme") else {
        return;
    };
    let train = labelme::load(&dir, labelme::Features::Vgg).unwrap();
    // pylearningcrowds/answers.txt is answers.txt without its 18 empty columns, in order.
    let text = std::fs::read_to_string(dir.join("pylearningcrowds/answers.txt")).unwrap();
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        for (w, v) in line.split_whitespace().enumerate() {
            let v: i64 = v.parse().unwrap();
            if v >= 0 {
                let found = train
                    .annotations
                    .iter()
                    .any(|a| a.item as usize == i && a.worker as usize == w && a.label as i64 == v);
                assert!(found, "row {i} column {w}");
                n += 1;
            }
        }
    }
    assert_eq!(n, 2547);
}

#[test]
fn synthetic_crowd_is_reproducible_and_consistent() {
    let a = SyntheticConfig::default().with_seed(3).generate().unwrap();
    let b = SyntheticConfig::default().with_seed(3).generate().unwrap();
    assert_eq!(a.data.train.annotations, b.data.train.annotations);
    assert_eq!(a.data.train.features, b.data.train.features);
    let c = SyntheticConfig::default().with_seed(4).generate().unwrap();
    assert_ne!(a.data.train.annotations, c.data.train.annotations);
    let t = &a.data.train;
    assert_eq!(t.annotations.len(), 2000 * 3);
    for row in a.common.iter().chain(a.individual.iter().flatten()) {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
    // The common mistake sends each class to its partner.
    for (k, row) in a.common.iter().enumerate() {
        let argmax = (0..row.len())
            .max_by(|&i, &j| row[i].total_cmp(&row[j]))
            .unwrap();
        assert_eq!(argmax, SyntheticConfig::partner(k));
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// A tiny valid Music folder: 3 songs × 2 features, 2 workers.
fn tiny_music(dir: &Path) {
    write(
        dir,
        music::GOLD,
        "id,f0,f1,class\na.mp3,1,2,rock\nb.mp3,3,4,pop\nc.mp3,5,6,rock\n",
    );
    write(
        dir,
        music::ANSWERS,
        "id,annotator,f0,f1,class\na.mp3,w1,1,2,rock\nb.mp3,w1,3,4,rock\nb.mp3,w2,3,4,pop\nc.mp3,w2,5,6,pop\n",
    );
}

#[test]
fn tiny_music_folder_loads() {
    let dir = tempfile::tempdir().unwrap();
    tiny_music(dir.path());
    let d = music::load(dir.path()).unwrap();
    assert_eq!(
        (d.n_items(), d.n_workers(), d.n_classes(), d.n_features()),
        (3, 2, 2, 2)
    );
    assert_eq!(d.classes, ["pop", "rock"]);
    assert_eq!(d.workers, ["w1", "w2"]);
    assert_eq!(d.truth, Some(vec![Some(1), Some(0), Some(1)]));
}

/// Each case: a mutation of the tiny Music folder and a fragment the error must contain.
#[test]
fn bad_music_input_names_file_and_line() {
    let cases: &[(&str, &str, &str)] = &[
        (
            music::GOLD,
            "id,f0,f1,class\na.mp3,1,2,rock\nb.mp3,x,4,pop\n",
            "music_genre_gold.csv:3: column \"f0\": expected a number, found \"x\"",
        ),
        (
            music::GOLD,
            "id,f0,f1,class\na.mp3,1,2,rock\nb.mp3,3,pop\n",
            "music_genre_gold.csv:3: expected 4 fields, as in the first row, found 3",
        ),
        (
            music::GOLD,
            "song,f0,f1,class\na.mp3,1,2,rock\n",
            "music_genre_gold.csv:1: expected an 'id' column",
        ),
        (
            music::GOLD,
            "id,f0,f1,class\n",
            "music_genre_gold.csv: no data rows",
        ),
        (
            music::GOLD,
            "id,f0,f1,class\na.mp3,1,inf,rock\n",
            "music_genre_gold.csv:2: column \"f1\": feature is not finite",
        ),
        (
            music::ANSWERS,
            "id,annotator,f0,f1,class\nz.mp3,w1,1,2,rock\n",
            "music_genre_mturk.csv:2: song \"z.mp3\" is not in music_genre_gold.csv",
        ),
        (
            music::ANSWERS,
            "id,annotator,f0,f1,class\na.mp3,w1,1,2,rock\na.mp3,w1,1,2,pop\n",
            "music_genre_mturk.csv:3: worker \"w1\" already labelled song \"a.mp3\" on line 2",
        ),
        (
            music::ANSWERS,
            "id,f0,f1,class\na.mp3,1,2,rock\n",
            "expected an 'annotator' column",
        ),
    ];
    for (file, text, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        tiny_music(dir.path());
        write(dir.path(), file, text);
        let err = music::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(expected),
            "for {file}:\n{text}\nexpected {expected:?} in\n{err}"
        );
    }
    // A missing file.
    let dir = tempfile::tempdir().unwrap();
    tiny_music(dir.path());
    std::fs::remove_file(dir.path().join(music::ANSWERS)).unwrap();
    let err = music::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("music_genre_mturk.csv: not found"), "{err}");
    // A test file with a class the model does not know.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "t.csv",
        "id,f0,f1,class\na,1,2,rock\nb,1,2,jazz\n",
    );
    let err = music::load_labeled(&dir.path().join("t.csv"), &["pop".into(), "rock".into()], 2)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("t.csv:3: class \"jazz\" is not one of [\"pop\", \"rock\"]"),
        "{err}"
    );
}

/// A tiny LabelMe folder with bag-of-words features: 3 images, 3 worker columns (one empty).
fn tiny_labelme(dir: &Path) {
    write(dir, "answers.txt", "0 -1 -1\n1 -1 2\n-1 -1 2\n");
    write(dir, "labels_train.txt", "0\n1\n2\n");
    write(dir, "data_train.txt", "2 1:3 2:1\n1 3:5\n2 1:1 3:1\n");
}

#[test]
fn tiny_labelme_folder_loads_and_drops_empty_workers() {
    let dir = tempfile::tempdir().unwrap();
    tiny_labelme(dir.path());
    let d = labelme::load(dir.path(), labelme::Features::Bow).unwrap();
    assert_eq!(d.workers, ["0", "2"]);
    assert_eq!(d.annotations.len(), 4);
    assert_eq!(d.n_features(), 3);
    // Row 0: counts (3, 1, 0) → proportions × 3.
    assert_eq!(d.features.row(0), &[2.25, 0.75, 0.0]);
}

#[test]
fn bad_labelme_input_names_file_and_line() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "answers.txt",
            "0 -1 -1\n1 -1\n-1 -1 2\n",
            "answers.txt:2: expected 3 columns like the first row, found 2",
        ),
        (
            "answers.txt",
            "0 -1 -1\n1 -1 9\n-1 -1 2\n",
            "answers.txt:2: column 2: expected -1 (no label) or a class 0..7, found 9",
        ),
        (
            "answers.txt",
            "0 -1 -1\n1 a 2\n-1 -1 2\n",
            "answers.txt:2: expected an integer, found \"a\"",
        ),
        (
            "answers.txt",
            "0 -1 -1\n1 -1 2\n",
            "answers.txt: 2 rows of answers for 3 rows of training features",
        ),
        (
            "labels_train.txt",
            "0\n1\n8\n",
            "labels_train.txt:3: expected a class 0..7, found 8",
        ),
        (
            "data_train.txt",
            "2 1:3 2:1\n1 3:x\n2 1:1 3:1\n",
            "data_train.txt:2: expected a non-negative count, found \"x\"",
        ),
        (
            "data_train.txt",
            "2 1:3 2:1\n2 3:5\n2 1:1 3:1\n",
            "data_train.txt:2: line announces 2 entries but has 1",
        ),
        ("data_train.txt", "", "data_train.txt: file is empty"),
    ];
    for (file, text, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        tiny_labelme(dir.path());
        write(dir.path(), file, text);
        let err = labelme::load(dir.path(), labelme::Features::Bow)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(expected),
            "for {file}:\n{text}\nexpected {expected:?} in\n{err}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    tiny_labelme(dir.path());
    let err = labelme::load(dir.path(), labelme::Features::Vgg)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("LabelMe_VGG_avg_train.npy: not found"),
        "{err}"
    );
}

/// Regression (found by the `ldac` fuzz target): a huge announced entry count must not be
/// used to size an allocation.
#[test]
fn ldac_with_a_huge_announced_count_is_an_error_not_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data_train.txt"), "022222222222222\n").unwrap();
    let err = labelme::read_features(
        dir.path(),
        labelme::Split::Train,
        labelme::Features::Bow,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("data_train.txt:1: line announces 22222222222222 entries but has 0"),
        "{err}"
    );
}

/// Regression (found by the `ldac` fuzz target): a huge word index must not size the dense
/// feature matrix.
#[test]
fn ldac_with_a_huge_word_index_is_an_error_not_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("data_train.txt"),
        "1 532:0\n1 800001175 69936:10\n",
    )
    .unwrap();
    let err = labelme::read_features(
        dir.path(),
        labelme::Split::Train,
        labelme::Features::Bow,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("data_train.txt:2:"), "{err}");
    std::fs::write(
        dir.path().join("data_train.txt"),
        "1 532:0\n1 80000117569936:10\n",
    )
    .unwrap();
    let err = labelme::read_features(
        dir.path(),
        labelme::Split::Train,
        labelme::Features::Bow,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("data_train.txt:2: expected a 1-based word index up to 1048576"),
        "{err}"
    );
}
