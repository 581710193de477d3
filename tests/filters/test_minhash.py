"""MinHash arithmetic: normalisation, shingle hashes, signatures equal to datasketch's, LSH shape."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from datasketch import MinHash
from datasketch.lsh import _optimal_param

from filters.minhash import (
    MinHasher,
    band_keys,
    candidate_probability,
    exact_key,
    jaccard,
    lsh_params,
    minhash_set,
    normalise,
    shingle_hash32,
    shingle_hash64,
    shingle_hashes64,
    shingle_set,
    shingles,
)
from tests.conftest import read_news


@pytest.fixture(scope="module")
def news_texts() -> list[str]:
    return [doc.text for doc in read_news()[:120]]


def test_normalise_folds_space_punctuation_width_and_case() -> None:
    assert normalise("中国 人民，\n银行！ＡＢＣ１２３abc") == "中国人民银行abc123abc"
    assert normalise("「你好」……——《世界》") == "你好世界"
    assert normalise("½ of_it") == "12ofit"  # NFKC makes 1⁄2; the fraction slash is a symbol
    assert normalise("，。！？ ★☆") == ""
    assert exact_key(normalise("你好，世界")) == exact_key(normalise("你好 世界!")) != exact_key(normalise("你好世"))


def test_vectorised_shingle_hashes_equal_the_definition(news_texts: list[str]) -> None:
    for text in news_texts[:30]:
        normalised = normalise(text)
        for ngram in (1, 3, 5):
            expected = [shingle_hash64(s) for s in shingles(normalised, ngram)]
            assert shingle_hashes64(normalised, ngram).tolist() == expected
    assert shingles("你好", 5) == ["你好"] and shingle_hashes64("你好", 5).tolist() == [shingle_hash64("你好")]
    assert shingle_hashes64("", 5).size == 0
    assert shingle_hash64("𠀀𠀁") != shingle_hash64("𠀁𠀀")  # astral-plane characters are single code points


@pytest.mark.parametrize(("num_perm", "seed", "ngram"), [(128, 1, 5), (64, 7, 3), (256, 42, 5)])
def test_signatures_equal_datasketch(news_texts: list[str], num_perm: int, seed: int, ngram: int) -> None:
    hasher = MinHasher(num_perm=num_perm, seed=seed, ngram=ngram)
    texts = [*news_texts[:40], "短", "", "x" * 10_000]
    for text in texts:
        normalised = normalise(text)
        reference = MinHash(num_perm=num_perm, seed=seed, hashfunc=shingle_hash32)
        reference.update_batch(shingles(normalised, ngram))
        assert reference.scheme == "affine32"
        assert hasher.signature(normalised).tolist() == reference.hashvalues.tolist()


def test_signature_estimates_jaccard(news_texts: list[str]) -> None:
    hasher = MinHasher(num_perm=256)
    first = normalise(news_texts[0] + news_texts[1])
    second = normalise(news_texts[1] + news_texts[2])
    true = jaccard(shingle_set(first, 5), shingle_set(second, 5))
    estimate = float(np.mean(hasher.signature(first) == hasher.signature(second)))
    assert 0.1 < true < 0.9
    assert abs(estimate - true) < 0.1  # 256 permutations: standard error about 0.03


def test_jaccard_of_sets() -> None:
    a = shingle_set("abcdefgh", 3)
    assert jaccard(a, a) == 1.0
    assert jaccard(shingle_set("abcdef", 3), shingle_set("abcdeg", 3)) == pytest.approx(3 / 5)
    assert jaccard(shingle_set("", 3), shingle_set("", 3)) == 1.0
    assert jaccard(shingle_set("abc", 3), shingle_set("", 3)) == 0.0


@pytest.mark.parametrize(
    ("threshold", "num_perm", "fn_weight", "expected"),
    [
        (0.8, 128, 0.5, (9, 13)),
        (0.8, 128, 0.9, (14, 9)),
        (0.7, 128, 0.5, (14, 9)),
        (0.5, 128, 0.5, (25, 5)),
        (0.8, 256, 0.5, (17, 15)),
    ],
)
def test_lsh_params_known_values(threshold: float, num_perm: int, fn_weight: float, expected: tuple[int, int]) -> None:
    assert lsh_params(threshold, num_perm, 1 - fn_weight, fn_weight) == expected
    assert _optimal_param(threshold, num_perm, 1 - fn_weight, fn_weight) == expected  # datasketch agrees


def test_lsh_params_agree_with_datasketch_on_a_grid() -> None:
    for threshold in (0.3, 0.6, 0.85, 0.95):
        for num_perm in (16, 100):
            for weight in (0.2, 0.5, 0.8):
                assert lsh_params(threshold, num_perm, 1 - weight, weight) == _optimal_param(
                    threshold, num_perm, 1 - weight, weight
                )
    with pytest.raises(ValueError, match="threshold"):
        lsh_params(1.0, 128)


def test_default_shape_finds_pairs_above_085() -> None:
    bands, rows = lsh_params(0.8, 128, 0.1, 0.9)
    assert candidate_probability(0.85, bands, rows) >= 0.97
    assert candidate_probability(0.5, bands, rows) < 0.03


def test_band_keys_split_the_signature() -> None:
    signature = np.arange(10, dtype=np.uint32)
    keys = list(band_keys(signature, 3, 3))
    assert [band for band, _ in keys] == [0, 1, 2]
    assert keys[1][1] == np.array([3, 4, 5], dtype=np.uint32).tobytes()


def test_minhash_set_is_the_set_the_signature_estimates(news_texts: list[str]) -> None:
    """Verification's set: the distinct 32-bit shingle hashes MinHash takes (reference:
    shingle_hash32 of each shingle), sorted, 4 bytes each; on real news its Jaccard is
    the 64-bit set's to within 0.001."""
    texts = [normalise(text) for text in news_texts[:40]]
    for text in texts[:10]:
        expected = np.array(sorted({shingle_hash32(shingle) for shingle in shingles(text, 5)}), dtype=np.uint32)
        assert np.array_equal(minhash_set(text, 5), expected)
        assert minhash_set(text, 5).dtype == np.uint32
    for first, second in itertools.pairwise(texts):
        edited = first[: len(first) // 2] + second[: len(second) // 4]
        wide = jaccard(shingle_set(first, 5), shingle_set(edited, 5))
        narrow = jaccard(minhash_set(first, 5), minhash_set(edited, 5))
        assert abs(wide - narrow) < 1e-3
