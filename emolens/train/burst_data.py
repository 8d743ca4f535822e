"""Training/evaluation data for the burst model: feature tables cached under ``$EMOLENS_BURST_CACHE``.

``python -m emolens.train.burst_data`` computes (once; later runs read the cache):

- ``emogator_{train,dev}.npz``: every EmoGator clip's span (:func:`clip_span`) -> hand features + Whisper embedding,
  with category (0-29) and speaker.
- ``speech_neg.npz``: plain-speech excerpts (negatives for the burst-vs-speech detector) from EmoDB (CC0), ASED and
  BAVED train splits: each utterance's active span (capped at 3 s) and random 0.3-2 s crops of it.

RAVDESS (non-commercial), LibriVox and the AMI meeting excerpts are never trained on: they are the held-out plain
speech for the false-burst rate in :mod:`emolens.eval.burst`.
"""

from __future__ import annotations

import csv
import os
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from emolens.engine.burst_features import (
    SR,
    activity,
    clip_span,
    embed,
    encode,
    excerpt,
    hand_features,
    mel_stats,
    pool,
    whisper_mel,
)
from emolens.engine.transcribe import atomic_file

DATASETS = Path(os.environ.get("EMOLENS_DATASETS", Path(__file__).resolve().parents[3] / "shared" / "datasets"))
if not DATASETS.is_dir():
    DATASETS = Path("/work/shared/datasets")
CACHE = Path(os.environ.get("EMOLENS_BURST_CACHE", "/work/cache/burst"))
SEED = 7


def read_audio(path: Path) -> np.ndarray:
    """Mono float32 16 kHz samples (soundfile decodes the datasets' FLAC/Opus at 16 kHz)."""
    import soundfile as sf

    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if sr != SR:
        import librosa

        x = librosa.resample(x, orig_sr=sr, target_sr=SR)
    return np.clip(x, -1.0, 1.0)


REPR = Path(os.environ.get("EMOLENS_REPR_CACHE", "/work/cache/repr"))


def _hands(items: list[tuple[np.ndarray, float, float]], label: str) -> np.ndarray:
    out = []
    t0 = time.time()
    for i, (x, b, e) in enumerate(items):
        out.append(hand_features(excerpt(x, b, e)))
        if i % 1000 == 0:
            print(f"{label}: hand {i}/{len(items)} {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
    return np.vstack(out).astype(np.float32)


def shared_embeddings(corpus: str, files: list[str]) -> np.ndarray:
    """Whole-clip Whisper embeddings from prosody v2's cache (same recipe as :func:`embed`), rows for ``files``."""
    z = np.load(REPR / corpus / "wbase.npz")
    pos = {str(f): i for i, f in enumerate(z["ids"])}
    return z["X"][[pos[f] for f in files]].astype(np.float16)


def _clip(path: Path) -> tuple[np.ndarray, float, float]:
    x = read_audio(path)
    b, e = clip_span(x)
    return x, b, e


def emogator(split: str) -> dict[str, np.ndarray]:
    """Features of EmoGator ``split`` (cached): hand features here, embeddings shared with prosody v2."""
    path = CACHE / f"emogator_{split}.npz"
    if path.is_file():
        return dict(np.load(path))
    hpath = CACHE / f"emogator_{split}_hand.npz"
    root = DATASETS / "emogator"
    with open(root / "labels.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == split]
    if hpath.is_file():
        h = dict(np.load(hpath))
    else:
        items = [_clip(root / r["file"]) for r in rows]
        h = {"hand": _hands(items, f"emogator/{split}"), "span": np.array([(b, e) for _, b, e in items], np.float32)}
        CACHE.mkdir(parents=True, exist_ok=True)
        np.savez(hpath, **h)
    files = [r["file"] for r in rows]
    if (REPR / "emogator" / "wbase.npz").is_file():
        emb, keep = shared_embeddings("emogator", files), np.arange(len(rows))
    else:  # the shared cache is not written yet: this split's own extraction (same recipe), maybe a speaker subset
        own_path = CACHE / f"own_emb_{'dev' if split == 'dev' else 'trainsub'}.npz"
        if not own_path.is_file():  # a clean machine: extract the whole split now (about 0.1 s a clip), once
            own_path = CACHE / f"own_emb_{split}_all.npz"
            if not own_path.is_file():
                X = np.vstack([embed([excerpt(*_clip(root / f))]) for f in files]).astype(np.float16)
                with atomic_file(own_path) as out:
                    np.savez(out, X=X, ids=np.array(files))
        own = np.load(own_path)
        pos = {f: i for i, f in enumerate(files)}
        keep = np.array([pos[str(f)] for f in own["ids"]])
        emb = own["X"]
    out = {
        "hand": h["hand"][keep],
        "span": h["span"][keep],
        "emb": emb,
        "y": np.array([int(r["category"]) - 1 for r in rows])[keep],
        "speaker": np.array([r["speaker"] for r in rows])[keep],
        "files": np.array(files)[keep],
    }
    if len(keep) == len(rows) and (REPR / "emogator" / "wbase.npz").is_file():
        np.savez(path, **out)  # only the complete shared version is cached
    return out


def _speech_files() -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    rng = np.random.default_rng(SEED)
    for corpus, limit in (("emodb", 535), ("ased", 700), ("baved", 600)):
        root = DATASETS / corpus
        with open(root / "labels.csv", newline="") as f:
            rows = [r for r in csv.DictReader(f) if r.get("split", "train") == "train" and not r.get("duplicate_of")]
        pick = rng.permutation(len(rows))[:limit]
        out += [(corpus, rows[i].get("speaker", ""), rows[i]["file"]) for i in sorted(pick)]
    return out


def _speech_spans() -> Iterator[tuple[str, str, str, np.ndarray, tuple[float, float], tuple[float, float]]]:
    """(corpus, speaker, file, samples, whole span, crop span) of each plain-speech negative: the utterance's active
    span (at most 3 s) and one random crop of 0.3-2 s inside it, drawn from one seeded generator in file order (so
    every caller sees the same crops)."""
    rng = np.random.default_rng(SEED + 1)
    for corpus, spk, f in _speech_files():
        x = read_audio(DATASETS / corpus / f)
        b, e = clip_span(x)
        if e - b < 0.3:
            continue
        ln = float(rng.uniform(0.3, min(2.0, e - b)))
        s = float(rng.uniform(b, e - ln))
        yield corpus, spk, f, x, (b, min(e, b + 3.0)), (s, s + ln)


def speech_negatives() -> dict[str, np.ndarray]:
    """Plain-speech excerpts for the detector's negative class (cached): whole utterances and random crops."""
    path = CACHE / "speech_neg.npz"
    if path.is_file():
        return dict(np.load(path))
    part = CACHE / "speech_neg_part.npz"
    if part.is_file():
        z = dict(np.load(part))
        hand, emb_c, groups = z["hand"], z["emb_crops"], list(z["group"])
        files = [tuple(f.split("|", 1)) for f in z["files"]]
    else:
        whole, crops, groups, files = [], [], [], []
        for corpus, spk, f, x, (wb, we), (cb, ce) in _speech_spans():
            whole.append((x, wb, we))
            crops.append((x, cb, ce))
            groups.append(f"{corpus}:{spk}")
            files.append((corpus, f))
        hpath = CACHE / "speech_neg_hand.npz"
        if hpath.is_file():
            hand = np.load(hpath)["hand"]
        else:
            hand = _hands(whole + crops, "speech")
            CACHE.mkdir(parents=True, exist_ok=True)
            np.savez(
                hpath,
                hand=hand,
                group=np.array(groups + groups),
                kind=np.array(["whole"] * len(whole) + ["crop"] * len(crops)),
            )
        t0 = time.time()
        emb_c = np.vstack([embed([excerpt(x, b, e)]) for x, b, e in crops]).astype(np.float16)
        print(f"speech crops embedded {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
        CACHE.mkdir(parents=True, exist_ok=True)
        np.savez(
            part, hand=hand, emb_crops=emb_c, group=np.array(groups), files=np.array([f"{c}|{f}" for c, f in files])
        )
    # Whole utterances: prosody v2's cached embeddings of the same clips (waits for them rather than recomputing).
    emb_w = []
    for corpus in ("emodb", "ased", "baved"):
        fs = [f for c, f in files if c == corpus]
        while not (REPR / corpus / "wbase.npz").is_file():
            print(f"waiting for {REPR / corpus / 'wbase.npz'}", file=sys.stderr, flush=True)
            time.sleep(60)
        emb_w.append(shared_embeddings(corpus, fs))
    kinds = ["whole"] * len(files) + ["crop"] * len(files)
    out = {"hand": hand, "emb": np.vstack(emb_w + [emb_c]), "group": np.array(groups + groups), "kind": np.array(kinds)}
    np.savez(path, **out)
    return out


def _encoder_rows(split: str) -> list[tuple[Path, tuple[float, float] | None, str]]:
    """(audio path, span or None for the clip's own active span, group) of each row of an encoder table: the
    EmoGator split in labels.csv order, or ``neg``: the speech negatives (whole utterances, then crops)."""
    if split != "neg":
        with open(DATASETS / "emogator" / "labels.csv", newline="") as f:
            return [
                (DATASETS / "emogator" / r["file"], None, r["speaker"])
                for r in csv.DictReader(f)
                if r["split"] == split
            ]
    whole, crops = [], []
    for corpus, spk, f, _x, whole_span, crop_span in _speech_spans():  # the rows of speech_negatives()
        whole.append((DATASETS / corpus / f, whole_span, f"{corpus}:{spk}"))
        crops.append((DATASETS / corpus / f, crop_span, f"{corpus}:{spk}"))
    return whole + crops


CHUNK = 500


def encoder_table(split: str, kinds: tuple[str, ...] = ("meanstd",)) -> dict[str, np.ndarray]:
    """Per row of ``split`` (``train``, ``dev`` or ``neg``): ``mel`` (:func:`mel_stats`), one array per pooling
    kind of the Whisper encoder states (:func:`pool`), ``group`` (speaker). Computed exactly as the burst stage
    does on a span (excerpt, :func:`whisper_mel`, :func:`encode`); the encoder states are cached as float16 in
    chunks of 500 rows under ``CACHE/frames`` (about 0.1 s a clip on one core, once)."""
    rows = _encoder_rows(split)
    out_dir = CACHE / "frames"
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    mel, pooled = [], {k: [] for k in dict.fromkeys(kinds)}
    for c0 in range(0, len(rows), CHUNK):
        path = out_dir / f"{split}_clean_{c0:05d}.npz"
        if not path.is_file():
            fr, off, stats = [], [0], []
            for p, span, _ in rows[c0 : c0 + CHUNK]:
                x = read_audio(p)
                b, e = span or clip_span(x)
                m = whisper_mel(excerpt(x, b, e))
                h = encode(m).astype(np.float16)
                fr.append(h)
                off.append(off[-1] + len(h))
                stats.append(mel_stats(m))
            tmp = out_dir / f"{path.stem}.tmp.npz"
            np.savez(tmp, frames=np.vstack(fr), offsets=np.array(off), mel=np.array(stats, np.float32))
            tmp.rename(path)
            print(f"{split}: encoded {c0 + len(fr)}/{len(rows)} {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
        z = np.load(path)
        frames, off = z["frames"], z["offsets"]
        mel.append(z["mel"])
        for k in pooled:
            pooled[k].append(np.array([pool(frames[off[i] : off[i + 1]], k) for i in range(len(off) - 1)]))
    return {
        "mel": np.vstack(mel).astype(np.float64),
        "group": np.array([g for _, _, g in rows]),
        **{k: np.vstack(v) for k, v in pooled.items()},
    }


def main() -> None:
    """Compute every cached table (each only once); ``hand`` computes only what needs no shared embeddings."""
    if sys.argv[1:] == ["hand"]:
        for split in ("dev", "train"):
            if not (CACHE / f"emogator_{split}_hand.npz").is_file():
                try:
                    emogator(split)
                except (FileNotFoundError, KeyError):
                    pass  # hand features are saved; the shared embeddings come later
        return
    if sys.argv[1:2] == ["augmented"]:
        for copy in sys.argv[2:] or ["0"]:
            augmented_table(int(copy))
        return
    if sys.argv[1:] == ["layers"]:
        for split in ("dev", "train", "neg"):
            layer_table(split)
        return
    for split in ("dev", "train"):
        emogator(split)
    speech_negatives()


LAYERS = Path(os.environ.get("EMOLENS_WLAYERS_CACHE", "/work/cache/wlayers"))


def _cached_chunks(
    directory: Path, stem: str, n: int, compute: Callable[[int, int], dict[str, np.ndarray]], what: str
) -> list[dict[str, np.ndarray]]:
    """The arrays of rows 0..n in chunks of :data:`CHUNK`, each chunk ``compute(begin, end)`` once and then read back
    from ``directory/<stem>_<begin>.npz`` (written whole, then renamed: an interrupted run leaves no half chunk)."""
    directory.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    parts = []
    for c0 in range(0, n, CHUNK):
        path = directory / f"{stem}_{c0:05d}.npz"
        if not path.is_file():
            c1 = min(c0 + CHUNK, n)
            tmp = directory / f"{path.stem}.tmp.npz"
            np.savez(tmp, **compute(c0, c1))
            tmp.rename(path)
            print(f"{what} {c1}/{n} {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
        with np.load(path) as z:
            parts.append({k: z[k] for k in z.files})
    return parts


def layer_table(split: str) -> dict[str, np.ndarray]:
    """Per row of ``split`` (``train``, ``dev`` or ``neg``, the rows of :func:`encoder_table`): ``layers``
    (n, 7, 1024) float16 = mean ++ std over time of each Whisper base encoder layer h0..h6 (float32 numpy encoder,
    :func:`emolens.engine.whisper_layers.hidden_states`) on the span's :func:`whisper_mel`; ``campplus`` (n, 192)
    L2-normalised CAM++ speaker embeddings of the same excerpt; ``group``. Cached in chunks of 500 rows under
    ``$EMOLENS_WLAYERS_CACHE`` (default /work/cache/wlayers; about 0.15 s a clip on one core, once)."""
    from emolens.engine import campplus
    from emolens.engine.whisper_layers import hidden_states

    rows = _encoder_rows(split)

    def compute(c0: int, c1: int) -> dict[str, np.ndarray]:
        lay, cam = [], []
        for p, span, _ in rows[c0:c1]:
            x = read_audio(p)
            b, e = span or clip_span(x)
            ex = excerpt(x, b, e)
            hs = hidden_states(whisper_mel(ex))
            lay.append(np.stack([np.concatenate([h.mean(0), h.std(0)]) for h in hs]).astype(np.float16))
            fb = campplus.fbank(ex).numpy()
            cam.append(campplus.embed([fb - fb.mean(0)])[0])
        return {"layers": np.stack(lay), "campplus": np.stack(cam)}

    parts = _cached_chunks(LAYERS, split, len(rows), compute, f"{split}: layers")
    layers = [z["layers"] for z in parts]
    spk = [z["campplus"] for z in parts]
    return {"layers": np.concatenate(layers), "campplus": np.vstack(spk), "group": np.array([g for _, _, g in rows])}


AUG = Path(os.environ.get("EMOLENS_BURST_AUG_CACHE", "/work/cache/burst/aug"))
AUG_DEPTH = 4  # encoder layers h0..h4 are kept for each augmented copy


def _active_power(x: np.ndarray) -> float:
    regs = activity(x)
    act = np.concatenate([x[int(b * SR) : int(e * SR)] for b, e in regs]) if regs else x
    return float(np.mean(act.astype(np.float64) ** 2)) + 1e-12


def augment(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float, str]:
    """One random recording-condition change of clip ``x``: (samples, speed factor, tags).

    In order, each drawn independently: speed x0.9-1.1 by resampling (tempo and pitch together; p 0.5); a
    synthetic room (exponentially decaying noise, RT60 0.15-0.7 s, direct-to-reverberant ratio drawn; p 0.4);
    white or pink noise 10-30 dB below the active signal (p 0.8); gain x0.2-1.0 (always)."""
    tags = []
    f = 1.0
    if rng.random() < 0.5:
        f = float(rng.uniform(0.9, 1.1))
        n = int(round(len(x) / f))
        x = np.interp(np.arange(n) * f, np.arange(len(x)), x).astype(np.float32)
        tags.append(f"speed{f:.3f}")
    if rng.random() < 0.4:
        rt = float(rng.uniform(0.15, 0.7))
        length = int(rt * SR)
        t = np.arange(length) / SR
        rir = rng.standard_normal(length) * np.exp(-6.9 * t / rt)
        rir[: int(0.002 * SR)] = 0.0
        rir[0] = 1.0 / float(rng.uniform(0.3, 1.0))  # direct path vs reverberant energy
        rir /= np.sqrt(np.sum(rir**2))
        p0 = np.mean(x.astype(np.float64) ** 2)
        y = np.convolve(x, rir)[: len(x) + length // 4]
        x = (y * np.sqrt(p0 / (np.mean(y**2) + 1e-12))).astype(np.float32)
        tags.append(f"rev{rt:.2f}")
    if rng.random() < 0.8:
        snr = float(rng.uniform(10, 30))
        w = rng.standard_normal(len(x))
        if rng.random() < 0.5:  # pink: 1/f power
            spec = np.fft.rfft(w)
            fr = np.arange(len(spec))
            fr[0] = 1
            w = np.fft.irfft(spec / np.sqrt(fr), n=len(x))
        w = w / (np.std(w) + 1e-12)
        x = (x + w * np.sqrt(_active_power(x) / 10 ** (snr / 10))).astype(np.float32)
        tags.append(f"noise{snr:.0f}")
    g = float(rng.uniform(0.2, 1.0))
    x = np.clip(x * g, -1, 1).astype(np.float32)
    return x, f, " ".join(tags)


def augmented_table(copy: int) -> dict[str, np.ndarray]:
    """Augmented copy ``copy`` of every EmoGator train clip (rows of :func:`emogator`): ``hand`` (n, 163) and
    ``layers`` (n, 5, 1024) float16 = mean ++ std of encoder layers h0..h4, computed like the stage does on the
    clip span (:func:`clip_span` of the clean clip, scaled by the speed factor) of :func:`augment`'s output, the
    generator seeded by file name and copy. Cached in chunks of 500 under ``$EMOLENS_BURST_AUG_CACHE`` (about
    0.05 s a clip on one core, once)."""
    from emolens.engine.whisper_layers import hidden_states

    with open(DATASETS / "emogator" / "labels.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "train"]
    spans = emogator("train")["span"]

    def compute(c0: int, c1: int) -> dict[str, np.ndarray]:
        hand, lay, tags = [], [], []
        for i in range(c0, c1):
            x = read_audio(DATASETS / "emogator" / rows[i]["file"])
            rng = np.random.default_rng(zlib.crc32(f"{rows[i]['file']}|{copy}".encode()))
            y, f, tg = augment(x, rng)
            ex = excerpt(y, float(spans[i][0] / f), float(spans[i][1] / f))
            hand.append(hand_features(ex))
            hs = hidden_states(whisper_mel(ex), depth=AUG_DEPTH)
            lay.append(np.stack([pool(h) for h in hs]).astype(np.float16))
            tags.append(tg)
        return {"hand": np.array(hand, np.float32), "layers": np.stack(lay), "tags": np.array(tags)}

    parts = _cached_chunks(AUG, f"train_c{copy}", len(rows), compute, f"augmented copy {copy}")
    hands = [z["hand"] for z in parts]
    layers = [z["layers"] for z in parts]
    return {"hand": np.vstack(hands), "layers": np.concatenate(layers)}


if __name__ == "__main__":
    main()
