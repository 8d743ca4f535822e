"""Held-out figures of the burst model: ``python -m emolens.eval.burst [--quick]``.

1. Scores on EmoGator dev (45 speakers, none in train): 30-category top-1 UAR, top-5 accuracy, calibration
   (expected calibration error of the top-1 probability), per-category recall and the confusion table.
2. Detection with the full rule (transcript + acoustic classifier): dev clips joined per speaker into sessions
   of 10 with 1 s of background between them, each session transcribed by Whisper base like the pipeline does;
   recall = clips that get a burst, plus bursts per clip and false bursts in the gaps. Also each dev clip alone,
   acoustic rule only.
3. False bursts per minute of held-out plain speech: LibriVox read speech, RAVDESS (6 actors), AMI meeting
   excerpts (these contain real laughter, so some of their "false" bursts are true ones).
4. Robustness: scores and detection with gain x0.25 and with white noise 20 dB below the active signal.

Transcripts are cached (:mod:`emolens.eval.burst_data`); everything else is recomputed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from emolens.engine.burst import CATEGORIES, detect, get_model, score_spans
from emolens.engine.burst_features import clip_span
from emolens.eval import burst_data as E
from emolens.train.burst_data import emogator, layer_table, read_audio


def _uar(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean([np.mean(pred[y == c] == c) for c in range(len(CATEGORIES)) if np.any(y == c)]))


def _top5(y: np.ndarray, p: np.ndarray) -> float:
    top = np.argsort(-p, axis=1)[:, :5]
    return float(np.mean([y[i] in top[i] for i in range(len(y))]))


def _ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    conf, pred = p.max(1), p.argmax(1)
    edges = np.linspace(0, 1, bins + 1)
    e = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            e += m.mean() * abs(float(np.mean(pred[m] == y[m])) - float(conf[m].mean()))
    return float(e)


def scores_on_dev() -> dict:
    """Classification figures from the cached dev features (the same features the stage computes)."""
    model = get_model()
    dev = emogator("dev")
    lay = layer_table("dev")
    assert (lay["group"] == dev["speaker"]).all()
    z = model.design(dev["hand"], lay["layers"][:, list(model.layers)].reshape(len(lay["group"]), -1))
    p = model.categories(z)
    y = dev["y"].astype(int)
    pred = p.argmax(1)
    conf = np.zeros((len(CATEGORIES), len(CATEGORIES)), dtype=int)
    for a, b in zip(y, pred, strict=True):
        conf[a, b] += 1
    return {
        "n": len(y),
        "top1_uar": round(_uar(y, pred), 4),
        "top5_acc": round(_top5(y, p), 4),
        "ece": round(_ece(y, p), 4),
        "nll": round(float(-np.mean(np.log(p[np.arange(len(y)), y] + 1e-12))), 4),
        "per_category_recall": {
            c: round(float(conf[i, i] / max(1, conf[i].sum())), 3) for i, c in enumerate(CATEGORIES)
        },
        "confusion": conf.tolist(),
    }


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return min(a[1], b[1]) - max(a[0], b[0]) > 0.05


def detection_sessions(var: str = "clean", limit: int | None = None) -> dict:
    """Full-rule detection on dev sessions (cached transcripts)."""
    sessions = E.dev_sessions()
    if limit:
        sessions = sessions[:: max(1, len(sessions) // limit)][:limit]
    hit = n = extra = false = 0
    per_clip: list[int] = []
    for name, clips in sessions:
        x, spans = E.compose([read_audio(p) for _, p, _ in clips])
        x = E.variant(x, var, name)
        bursts = detect(x, E.words(Path(f"emogator-dev/{name}"), x, var))
        for sp in spans:
            k = sum(_overlap((b.begin, b.end), sp) for b in bursts)
            per_clip.append(k)
            n += 1
            hit += k > 0
            extra += max(0, k - 1)
        false += sum(not any(_overlap((b.begin, b.end), sp) for sp in spans) for b in bursts)
    return {
        "clips": n,
        "recall": round(hit / max(1, n), 4),
        "one_burst_share": round(float(np.mean(np.array(per_clip) == 1)), 4),
        "extra_bursts_per_clip": round(extra / max(1, n), 4),
        "false_bursts_in_gaps": int(false),
    }


def detection_single_clips(limit: int | None = None) -> dict:
    """Each dev clip alone, acoustic rule only (no transcript): how many predictions does a burst clip get?"""
    clips = E.emogator_dev()
    if limit:
        clips = clips[:: max(1, len(clips) // limit)][:limit]
    counts = []
    for _, p, _, _ in clips:
        counts.append(len(detect(read_audio(p), None)))
    c = np.array(counts)
    return {"clips": len(c), "recall": round(float(np.mean(c > 0)), 4), "exactly_one": round(float(np.mean(c == 1)), 4)}


def false_bursts() -> dict:
    """False bursts per minute of held-out plain speech, per corpus (full rule, cached transcripts)."""
    out = {}
    for corpus, files in E.plain_speech().items():
        total_s, count, spans = 0.0, 0, []
        for fname, paths in files:
            x = E.load_joined(paths)
            total_s += len(x) / 16000
            bs = detect(x, E.words(Path(f"{corpus}/{fname}"), x))
            count += len(bs)
            spans += [(fname, b.begin, b.end, CATEGORIES[int(np.argmax(b.categories))]) for b in bs[:3]]
        out[corpus] = {
            "minutes": round(total_s / 60, 2),
            "bursts": count,
            "per_minute": round(count / (total_s / 60), 3),
            "examples": spans[:6],
        }
    return out


def robustness(limit: int = 450) -> dict:
    """Scores of dev clips recomputed from audio under gain x0.25 and 20 dB noise (every k-th clip)."""
    clips = E.emogator_dev()[:: max(1, 1350 // limit)][:limit]
    out = {}
    for var in ("clean", "gain025", "noise20"):
        ys, ps = [], []
        for f, p, y, _ in clips:
            x = E.variant(read_audio(p), var, f)
            b, e = clip_span(x)
            _, cats = score_spans(x, [(b, e)], classify_all=True)
            ys.append(y)
            ps.append(cats[0])
        y_arr, p_arr = np.array(ys), np.vstack(ps)
        out[var] = {
            "n": len(ys),
            "top1_uar": round(_uar(y_arr, p_arr.argmax(1)), 4),
            "top5_acc": round(_top5(y_arr, p_arr), 4),
        }
    return out


def _table(conf: list[list[int]]) -> str:
    abbrev = [c[:4] for c in CATEGORIES]
    lines = ["true\\pred " + " ".join(f"{a:>4}" for a in abbrev)]
    for i, row in enumerate(conf):
        lines.append(f"{CATEGORIES[i][:10]:<10} " + " ".join(f"{v:>4}" for v in row))
    return "\n".join(lines)


def main() -> None:
    """Print every figure (JSON) and the confusion table, and write them to ``--json`` (default: metrics.json)."""
    from emolens.engine.burst import WEIGHTS_DIR

    ap = argparse.ArgumentParser(description="burst model held-out figures")
    ap.add_argument("--quick", action="store_true", help="subsets only (a few minutes)")
    ap.add_argument("--json", type=Path, default=WEIGHTS_DIR / "metrics.json", help="where to write the figures")
    ap.add_argument("--only", help="comma-separated parts: scores,detection,single,false,robust")
    args = ap.parse_args()
    parts = set(args.only.split(",")) if args.only else {"scores", "detection", "single", "false", "robust"}
    t0 = time.time()
    res: dict = json.loads(args.json.read_text()) if args.json.is_file() and args.only else {}

    def save() -> None:
        res["seconds"] = round(time.time() - t0)
        args.json.write_text(json.dumps(res, indent=1) + "\n")

    if "scores" in parts:
        res["scores_dev"] = scores_on_dev()
        print(json.dumps({k: v for k, v in res["scores_dev"].items() if k != "confusion"}, indent=1), flush=True)
        print(_table(res["scores_dev"]["confusion"]), flush=True)
        save()
    if "detection" in parts:
        res["detection_dev_sessions"] = detection_sessions(limit=10 if args.quick else None)
        print(json.dumps({"detection_dev_sessions": res["detection_dev_sessions"]}), flush=True)
        save()
    if "single" in parts:
        res["detection_dev_single_acoustic"] = detection_single_clips(limit=150 if args.quick else None)
        print(json.dumps({"detection_dev_single_acoustic": res["detection_dev_single_acoustic"]}), flush=True)
        save()
    if "false" in parts:
        res["false_bursts"] = false_bursts()
        print(json.dumps({"false_bursts": res["false_bursts"]}, indent=1), flush=True)
        save()
    if "robust" in parts:
        res["robust_scores"] = robustness(150 if args.quick else 450)
        print(json.dumps({"robust_scores": res["robust_scores"]}), flush=True)
        res["robust_detection"] = {v: detection_sessions(v, limit=E.ROBUST_SESSIONS) for v in ("gain025", "noise20")}
        print(json.dumps({"robust_detection": res["robust_detection"]}), flush=True)
        save()
    print(f"done in {round(time.time() - t0)} s; figures in {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
