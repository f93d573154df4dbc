"""Correct answers to the exercises, written independently as loops, and a catalogue of typical mistakes.

``CORRECT[exercise]`` is a plain-loop solution (no call into the library). ``MISTAKES`` lists
``(name, exercise, function, words the grader's report must contain)``; ``OTHER_STYLE`` the same for mistakes
written vectorised, channels-last, or with another variable layout, to show the diagnosis reads the error's
pattern and not the code.
"""

import numpy as np

# ---- correct answers, as loops ---------------------------------------------------------------------


def output_size(n, k, s, p):
    return (n + 2 * p - k) // s + 1


def conv_forward(x, w, b, stride, padding, pad_mode="constant"):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), mode=pad_mode)
    ho, wo = (h + 2 * padding - k) // stride + 1, (wd + 2 * padding - k) // stride + 1
    out = np.zeros((n, f, ho, wo))
    for i in range(n):
        for o in range(f):
            for y in range(ho):
                for z in range(wo):
                    patch = xp[i, :, y * stride : y * stride + k, z * stride : z * stride + k]
                    out[i, o, y, z] = np.sum(patch * w[o]) + b[o]
    return out


def conv_backward(dout, x, w, b, stride, padding, accumulate=True, transpose_dw=False, crop=True):
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    _, _, ho, wo = dout.shape
    for i in range(n):
        for o in range(f):
            for y in range(ho):
                for z in range(wo):
                    ys, zs = y * stride, z * stride
                    g = dout[i, o, y, z]
                    dw[o] += g * xp[i, :, ys : ys + k, zs : zs + k]
                    if accumulate:
                        dxp[i, :, ys : ys + k, zs : zs + k] += g * w[o]
                    else:
                        dxp[i, :, ys : ys + k, zs : zs + k] = g * w[o]
    if transpose_dw:
        dw = dw.transpose(0, 1, 3, 2)
    db = dout.sum(axis=(0, 2, 3))
    dx = dxp[:, :, p : p + h, p : p + wd] if crop else dxp
    return dx, dw, db


def im2col(x, k, stride, padding, order="cij"):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1
    rows = []
    for i in range(n):
        for y in range(ho):
            for z in range(wo):
                patch = xp[i, :, y * stride : y * stride + k, z * stride : z * stride + k]
                rows.append(patch.reshape(-1) if order == "cij" else patch.transpose(1, 2, 0).reshape(-1))
    return np.array(rows)


def col2im(cols, x_shape, k, stride, padding, accumulate=True):
    n, c, h, w = x_shape
    p = padding
    ho, wo = (h + 2 * p - k) // stride + 1, (w + 2 * p - k) // stride + 1
    dxp = np.zeros((n, c, h + 2 * p, w + 2 * p))
    r = 0
    for i in range(n):
        for y in range(ho):
            for z in range(wo):
                block = cols[r].reshape(c, k, k)
                if accumulate:
                    dxp[i, :, y * stride : y * stride + k, z * stride : z * stride + k] += block
                else:
                    dxp[i, :, y * stride : y * stride + k, z * stride : z * stride + k] = block
                r += 1
    return dxp[:, :, p : p + h, p : p + w]


def maxpool_forward(x, k, stride, reduce=np.max):
    n, c, h, w = x.shape
    ho, wo = (h - k) // stride + 1, (w - k) // stride + 1
    out = np.zeros((n, c, ho, wo))
    for i in range(n):
        for ch in range(c):
            for y in range(ho):
                for z in range(wo):
                    out[i, ch, y, z] = reduce(
                        x[i, ch, y * stride : y * stride + k, z * stride : z * stride + k]
                    )
    return out


def maxpool_backward(dout, x, k, stride, accumulate=True, tie="first"):
    n, c, h, w = x.shape
    _, _, ho, wo = dout.shape
    dx = np.zeros_like(x)
    for i in range(n):
        for ch in range(c):
            for y in range(ho):
                for z in range(wo):
                    win = x[i, ch, y * stride : y * stride + k, z * stride : z * stride + k]
                    if tie == "first":
                        a = int(np.argmax(win))
                    else:
                        a = k * k - 1 - int(np.argmax(win.reshape(-1)[::-1]))
                    yy, zz = y * stride + a // k, z * stride + a % k
                    if accumulate:
                        dx[i, ch, yy, zz] += dout[i, ch, y, z]
                    else:
                        dx[i, ch, yy, zz] = dout[i, ch, y, z]
    return dx


def _lrn_window(c, ch, size, wrap=False):
    if wrap:
        return [j % c for j in range(ch - size // 2, ch + (size - 1) // 2 + 1)]
    return list(range(max(0, ch - size // 2), min(c, ch + (size - 1) // 2 + 1)))


def lrn_forward(x, size, alpha, beta, k, alpha_over_n=False, wrap=False):
    a = alpha / size if alpha_over_n else alpha
    out = np.zeros_like(x)
    c = x.shape[1]
    for ch in range(c):
        s = k + a * sum(x[:, j] ** 2 for j in _lrn_window(c, ch, size, wrap))
        out[:, ch] = x[:, ch] / s**beta
    return out


def lrn_backward(dout, x, size, alpha, beta, k, cross="full"):
    c = x.shape[1]
    scale = np.zeros_like(x)
    for ch in range(c):
        scale[:, ch] = k + alpha * sum(x[:, j] ** 2 for j in _lrn_window(c, ch, size))
    dx = dout * scale**-beta
    if cross == "none":
        return dx
    for ch in range(c):  # out[ch] depends on x[j] for every j in its window
        t = dout[:, ch] * x[:, ch] * scale[:, ch] ** (-beta - 1)
        for j in _lrn_window(c, ch, size):
            if cross == "self" and j != ch:
                continue
            dx[:, j] -= 2 * alpha * beta * x[:, j] * t
    return dx


def softmax_cross_entropy(logits, labels, shift=True, average=1, onehot=True):
    n = logits.shape[0]
    loss, d = 0.0, np.zeros_like(logits)
    for i in range(n):
        z = logits[i] - (logits[i].max() if shift else 0.0)
        e = np.exp(z)
        loss -= z[labels[i]] - np.log(e.sum())
        d[i] = e / e.sum()
        if onehot:
            d[i, labels[i]] -= 1
    return loss / n, d / n**average


def dropout_forward(x, mask, p, convention, train, rescale=True, test_scale=True):
    if convention == "pytorch":
        if not train:
            return x.copy()
        return x * mask / (1 - p) if rescale else x * mask
    if train:
        return x * mask
    return x * (1 - p) if test_scale else x.copy()


def dropout_backward(dout, mask, p, convention, rescale=True):
    if convention == "pytorch" and rescale:
        return dout * mask / (1 - p)
    return dout * mask


def sgd_momentum_paper(w, v, g, momentum, weight_decay, lr):
    for idx in np.ndindex(w.shape):
        v[idx] = momentum * v[idx] - weight_decay * lr * w[idx] - lr * g[idx]
        w[idx] = w[idx] + v[idx]


CORRECT = {
    "output_size": output_size,
    "conv_forward": conv_forward,
    "conv_backward": conv_backward,
    "im2col": im2col,
    "col2im": col2im,
    "maxpool_forward": maxpool_forward,
    "maxpool_backward": maxpool_backward,
    "lrn_forward": lrn_forward,
    "lrn_backward": lrn_backward,
    "softmax_cross_entropy": softmax_cross_entropy,
    "dropout_forward": dropout_forward,
    "dropout_backward": dropout_backward,
    "sgd_momentum_paper": sgd_momentum_paper,
}

# ---- the catalogue of mistakes ----------------------------------------------------------------------


def _sgd_pytorch(w, v, g, momentum, weight_decay, lr):
    v *= momentum
    v += g + weight_decay * w
    w -= lr * v


def _sgd_decay_without_lr(w, v, g, momentum, weight_decay, lr):
    v[...] = momentum * v - weight_decay * w - lr * g
    w += v


def _sgd_old_v(w, v, g, momentum, weight_decay, lr):
    w += v
    v[...] = momentum * v - weight_decay * lr * w - lr * g


def _conv_window_one_late(x, w, b, stride, padding):
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding + 1), (padding, padding + 1)))
    return conv_forward(xp[:, :, 1:, 1:], w, b, stride, 0)


def _conv_backward_crops_the_corner(dout, x, w, b, stride, padding):
    dx, dw, db = conv_backward(dout, x, w, b, stride, padding, crop=False)
    return dx[:, :, : x.shape[2], : x.shape[3]], dw, db


MISTAKES = [
    (
        "windows start one pixel late",
        "conv_forward",
        _conv_window_one_late,
        "moved by 1 row up, 1 column left",
    ),
    (
        "dx cropped from the corner",
        "conv_backward",
        _conv_backward_crops_the_corner,
        "where the padding is cropped",
    ),
    ("padding counted once", "output_size", lambda n, k, s, p: (n + p - k) // s + 1, "2·padding"),
    ("+1 forgotten", "output_size", lambda n, k, s, p: (n + 2 * p - k) // s, "+1 is missing"),
    ("true division", "output_size", lambda n, k, s, p: (n + 2 * p - k) / s + 1, "floor division"),
    ("rounds up", "output_size", lambda n, k, s, p: -(-(n + 2 * p - k) // s) + 1, "rounded up"),
    (
        "pads by replicating the edge",
        "conv_forward",
        lambda x, w, b, s, p: conv_forward(x, w, b, s, p, pad_mode="edge"),
        "is padding handled",
    ),
    (
        "flips the kernel",
        "conv_forward",
        lambda x, w, b, s, p: conv_forward(x, w[:, :, ::-1, ::-1], b, s, p),
        "kernel flipped",
    ),
    (
        "forgets the bias",
        "conv_forward",
        lambda x, w, b, s, p: conv_forward(x, w, 0 * b, s, p),
        "bias is missing",
    ),
    ("ignores the stride", "conv_forward", lambda x, w, b, s, p: conv_forward(x, w, b, 1, p), "stride"),
    (
        "dx assigned, not accumulated",
        "conv_backward",
        lambda *a: conv_backward(*a, accumulate=False),
        "accumulating (+=)",
    ),
    ("dw transposed", "conv_backward", lambda *a: conv_backward(*a, transpose_dw=True), "transposed"),
    ("dx not cropped", "conv_backward", lambda *a: conv_backward(*a, crop=False), "crop the padding"),
    (
        "db averaged over the batch",
        "conv_backward",
        lambda *a: (lambda dx, dw, db: (dx, dw, db / a[0].shape[0]))(*conv_backward(*a)),
        "db sums over the batch",
    ),
    (
        "gradient ascent: every sign flipped",
        "conv_backward",
        lambda *a: tuple(-t for t in conv_backward(*a)),
        "sign flipped",
    ),
    (
        "columns in (i, j, c) order",
        "im2col",
        lambda x, k, s, p: im2col(x, k, s, p, order="ijc"),
        "(i, j, c) order",
    ),
    ("col2im assigns", "col2im", lambda *a: col2im(*a, accumulate=False), "accumulating (+=)"),
    ("average pooling", "maxpool_forward", lambda x, k, s: maxpool_forward(x, k, s, reduce=np.mean), "means"),
    (
        "max-pool backward assigns",
        "maxpool_backward",
        lambda *a: maxpool_backward(*a, accumulate=False),
        "accumulating (+=)",
    ),
    (
        "ties to the last maximum (a convention, not a mistake)",
        "maxpool_backward",
        lambda *a: maxpool_backward(*a, tie="last"),
        "correct up to the tie convention",
    ),
    (
        "alpha over n in the paper's form",
        "lrn_forward",
        lambda x, n, a, b, k: lrn_forward(x, n, a, b, k, alpha_over_n=True),
        "alpha divided by size",
    ),
    (
        "channel window wraps around",
        "lrn_forward",
        lambda x, n, a, b, k: lrn_forward(x, n, a, b, k, wrap=True),
        "first/last channels",
    ),
    (
        "LRN backward without the cross-channel term",
        "lrn_backward",
        lambda *a: lrn_backward(*a, cross="none"),
        "cross-channel term is missing",
    ),
    (
        "LRN backward, cross term of channel j only",
        "lrn_backward",
        lambda *a: lrn_backward(*a, cross="self"),
        "channel j alone",
    ),
    (
        "softmax without the max shift",
        "softmax_cross_entropy",
        lambda z, y: softmax_cross_entropy(z, y, shift=False),
        "each row's own maximum",  # in the report's first line, which the class report shows
    ),
    (
        "gradient averaged twice",
        "softmax_cross_entropy",
        lambda z, y: softmax_cross_entropy(z, y, average=2),
        "averaged twice",
    ),
    (
        "one-hot not subtracted",
        "softmax_cross_entropy",
        lambda z, y: softmax_cross_entropy(z, y, onehot=False),
        "one-hot",
    ),
    (
        "inverted dropout not rescaled",
        "dropout_forward",
        lambda *a: dropout_forward(*a, rescale=False),
        "not rescaled",
    ),
    (
        "paper's dropout not scaled at test time",
        "dropout_forward",
        lambda *a: dropout_forward(*a, test_scale=False),
        "not scaled at test time",
    ),
    (
        "dropout backward not rescaled",
        "dropout_backward",
        lambda *a: dropout_backward(*a, rescale=False),
        "not rescaled",
    ),
    ("PyTorch's momentum form", "sgd_momentum_paper", _sgd_pytorch, "PyTorch's form"),
    (
        "weight decay without the learning rate",
        "sgd_momentum_paper",
        _sgd_decay_without_lr,
        "not multiplied by the learning rate",
    ),
    ("w moved by the old velocity", "sgd_momentum_paper", _sgd_old_v, "update v first"),
]

# ---- the same kinds of mistake, written another way ------------------------------------------------


def col2im_fancy_index(cols, x_shape, k, stride, padding):
    """Vectorised with fancy indexing: ``a[idx] += v`` applies a repeated index once (np.add.at would sum)."""
    n, c, h, w = x_shape
    ho, wo = (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1
    oy, ox = np.meshgrid(np.arange(ho) * stride, np.arange(wo) * stride, indexing="ij")
    ky, kx = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    rows = (oy.reshape(-1, 1) + ky.reshape(1, -1))[None, :, None, :]  # (1, L, 1, k·k)
    colz = (ox.reshape(-1, 1) + kx.reshape(1, -1))[None, :, None, :]
    nn = np.arange(n)[:, None, None, None]
    cc = np.arange(c)[None, None, :, None]
    vals = cols.reshape(n, ho * wo, c, k * k)
    out = np.zeros((n, c, h + 2 * padding, w + 2 * padding))
    out[nn, cc, rows, colz] += vals  # the bug: duplicates do not add up
    return out[:, :, padding : padding + h, padding : padding + w]


def maxpool_backward_channels_last(dout, x, k, stride):
    """Channels-last and vectorised: a mask ``window == max`` sends the gradient to every tied maximum."""
    xh = x.transpose(0, 2, 3, 1)  # (N, H, W, C)
    dh = dout.transpose(0, 2, 3, 1)
    ho, wo = dh.shape[1:3]
    out = np.zeros_like(xh)
    for a in range(k):
        for b in range(k):
            sl = (slice(None), slice(a, a + stride * ho, stride), slice(b, b + stride * wo, stride))
            wins = np.stack(
                [
                    xh[:, i : i + stride * ho : stride, j : j + stride * wo : stride]
                    for i in range(k)
                    for j in range(k)
                ]
            )
            out[sl] += np.where(xh[sl] == wins.max(axis=0), dh, 0.0)
    return out.transpose(0, 3, 1, 2)


def lrn_backward_banded(dout, x, size, alpha, beta, k):
    """Vectorised with a C×C band matrix; the backward sum uses the forward's band instead of its transpose."""
    c = x.shape[1]
    i, j = np.indices((c, c))
    band = ((j >= i - size // 2) & (j <= i + (size - 1) // 2)).astype(float)  # band[c, j]: j in window(c)
    scale = k + alpha * np.einsum("cj,njhw->nchw", band, x * x)
    t = dout * x * scale ** (-beta - 1)
    back = np.einsum("jc,nchw->njhw", band, t)  # should be band.T: sum over c with j in window(c)
    return dout * scale**-beta - 2 * alpha * beta * x * back


def softmax_ce_transposed_layout(logits, labels):
    """Classes along axis 0 (K, N), log-sum-exp style; the gradient is divided by N twice."""
    zt = logits.T - logits.T.max(axis=0)
    logp = zt - np.log(np.exp(zt).sum(axis=0))
    n = logits.shape[0]
    loss = -logp[labels, np.arange(n)].mean()
    g = np.exp(logp)
    g[labels, np.arange(n)] -= 1
    return loss, (g / n).T / n


OTHER_STYLE = [
    ("col2im by fancy-index +=", "col2im", col2im_fancy_index, "accumulating (+=)"),
    ("channels-last mask pooling", "maxpool_backward", maxpool_backward_channels_last, "every tied maximum"),
    ("LRN band not transposed", "lrn_backward", lrn_backward_banded, "even size"),
    (
        "(K, N) softmax averaged twice",
        "softmax_cross_entropy",
        softmax_ce_transposed_layout,
        "averaged twice",
    ),
]

# ---- the issue's findings (issue 21): each once passed, was told nothing useful, or was misled -------------

_BUFFER = np.zeros((2, 3, 9, 7))


def _maxpool_backward_module_buffer(dout, x, k, stride):
    """Accumulates into a module-level buffer that is never zeroed (right on the first call only)."""
    global _BUFFER
    if _BUFFER.shape != x.shape:
        _BUFFER = np.zeros_like(x)
    _BUFFER += maxpool_backward(dout, x, k, stride)
    return _BUFFER.copy()


_SHARED = {}


def _conv_forward_shared_output(x, w, b, stride, padding):
    """Returns the same module-level array on every call of a given shape."""
    out = conv_forward(x, w, b, stride, padding)
    buf = _SHARED.setdefault(out.shape, np.empty_like(out))
    buf[...] = out
    return buf


def _softmax_global_max(logits, labels):
    z = logits - logits.max()
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    n = len(labels)
    d = p.copy()
    d[np.arange(n), labels] -= 1
    return -np.mean(np.log(p[np.arange(n), labels])), d / n


def _softmax_log_of_softmax(logits, labels):
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    n = len(labels)
    d = p.copy()
    d[np.arange(n), labels] -= 1
    return -np.mean(np.log(p[np.arange(n), labels])), d / n


def _softmax_axis0(logits, labels):
    z = logits - logits.max(axis=0, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=0, keepdims=True)
    n = len(labels)
    d = p.copy()
    d[np.arange(n), labels] -= 1
    return -np.mean(np.log(p[np.arange(n), labels])), d / n


def _softmax_column_labels(logits, labels):
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    n = len(labels)
    d = np.exp(logp)
    d[:, labels] -= 1
    return -np.mean(logp[:, labels]), d / n


def _conv_forward_image0(x, w, b, stride, padding):
    return conv_forward(np.repeat(x[:1], x.shape[0], axis=0), w, b, stride, padding)


def _conv_forward_last_row_missing(x, w, b, stride, padding):
    out = conv_forward(x, w, b, stride, padding)
    out[:, :, -1, :] = 0.0
    return out


def _conv_backward_dw_reset(dout, x, w, b, stride, padding):
    dx, _, db = conv_backward(dout, x, w, b, stride, padding)
    _, dw, _ = conv_backward(dout[-1:], x[-1:], w, b, stride, padding)
    return dx, dw, db


def _col2im_kkc(cols, x_shape, k, stride, padding):
    n, c, h, w = x_shape
    permuted = cols.reshape(-1, k, k, c).transpose(0, 3, 1, 2).reshape(cols.shape)
    return col2im(permuted, x_shape, k, stride, padding)


def _col2im_row_ignores_batch(cols, x_shape, k, stride, padding):
    n = x_shape[0]
    rows = cols.shape[0] // n
    return col2im(np.tile(cols[:rows], (n, 1)), x_shape, k, stride, padding)


def _maxpool_forward_block_max(x, k, stride):
    out = maxpool_forward(x, k, stride)
    n, c, h, w = x.shape
    for y in range(out.shape[2]):
        for z in range(out.shape[3]):
            out[:, :, y, z] = x[:, :, y * stride : y * stride + k, z * stride : z * stride + k].max()
    return out


def _maxpool_forward_last_col_missing(x, k, stride):
    out = maxpool_forward(x, k, stride)
    out[:, :, :, -1] = 0.0
    return out


def _maxpool_backward_swapped(dout, x, k, stride):
    n, c, h, w = x.shape
    dx = np.zeros_like(x)
    for i in range(n):
        for ch in range(c):
            for y in range(dout.shape[2]):
                for z in range(dout.shape[3]):
                    a = int(np.argmax(x[i, ch, y * stride : y * stride + k, z * stride : z * stride + k]))
                    dx[i, ch, y * stride + a % k, z * stride + a // k] += dout[i, ch, y, z]
    return dx


def _maxpool_backward_column_major_ties(dout, x, k, stride):
    n, c, h, w = x.shape
    dx = np.zeros_like(x)
    for i in range(n):
        for ch in range(c):
            for y in range(dout.shape[2]):
                for z in range(dout.shape[3]):
                    win = x[i, ch, y * stride : y * stride + k, z * stride : z * stride + k]
                    a = int(np.argmax(win.T))  # column by column: a valid tie convention
                    dx[i, ch, y * stride + a % k, z * stride + a // k] += dout[i, ch, y, z]
    return dx


def _lrn_general(x, size, alpha, beta, k, power=2, beta_on_sum=False, hi_exclusive=False):
    c = x.shape[1]
    out = np.zeros_like(x)
    for ch in range(c):
        lo, hi = max(0, ch - size // 2), min(c, ch + (size - 1) // 2 + (0 if hi_exclusive else 1))
        s = sum(x[:, j] ** power for j in range(lo, hi))
        out[:, ch] = x[:, ch] / (k + alpha * s**beta) if beta_on_sum else x[:, ch] / (k + alpha * s) ** beta
    return out


def _lrn_backward_scale_j(dout, x, size, alpha, beta, k):
    c = x.shape[1]
    scale = np.zeros_like(x)
    for ch in range(c):
        scale[:, ch] = k + alpha * sum(x[:, j] ** 2 for j in _lrn_window(c, ch, size))
    dx = dout * scale**-beta
    for ch in range(c):
        for j in _lrn_window(c, ch, size):
            dx[:, j] -= 2 * alpha * beta * x[:, j] * dout[:, ch] * x[:, ch] * scale[:, j] ** (-beta - 1)
    return dx


def _dropout_forward_mask_at_eval(x, mask, p, convention, train):
    if convention == "pytorch":
        return x * mask / (1 - p)
    return x * mask if train else x * mask * (1 - p)


def _dropout_backward_new_mask(dout, mask, p, convention):
    fresh = np.random.default_rng().random(dout.shape) >= p
    return dout * fresh / (1 - p) if convention == "pytorch" else dout * fresh


def _sgd_minus_v(w, v, g, momentum, weight_decay, lr):
    v[...] = momentum * v - weight_decay * lr * w - lr * g
    w -= v


def _sgd_momentum_on_new_step(w, v, g, momentum, weight_decay, lr):
    v[...] = momentum * (v - weight_decay * lr * w - lr * g)
    w += v


def _sgd_returns_w(w, v, g, momentum, weight_decay, lr):
    sgd_momentum_paper(w, v, g, momentum, weight_decay, lr)
    return w


def _conv_forward_float32_inside(x, w, b, stride, padding):
    return conv_forward(
        x.astype(np.float32), w.astype(np.float32), b.astype(np.float32), stride, padding
    ).astype(np.float64)


def _output_size_round(n, k, s, p):
    return round((n + 2 * p - k) / s) + 1


ISSUE_21 = [
    ("output size rounded, not floored", "output_size", _output_size_round, "rounded to the nearest"),
    (
        "max-pool backward into a module buffer",
        "maxpool_backward",
        _maxpool_backward_module_buffer,
        "keeps state",
    ),
    ("conv forward returns one shared array", "conv_forward", _conv_forward_shared_output, "shared"),
    (
        "softmax shifted by one global maximum",
        "softmax_cross_entropy",
        _softmax_global_max,
        "row's own maximum",
    ),
    ("loss as log(softmax)", "softmax_cross_entropy", _softmax_log_of_softmax, "log-softmax"),
    ("softmax over axis 0", "softmax_cross_entropy", _softmax_axis0, "axis 0"),
    ("softmax indexed [:, labels]", "softmax_cross_entropy", _softmax_column_labels, "[:, labels]"),
    ("conv forward uses image 0 for every n", "conv_forward", _conv_forward_image0, "image 0's result"),
    ("conv forward loop misses the last row", "conv_forward", _conv_forward_last_row_missing, "last row"),
    ("conv backward dw reset per sample", "conv_backward", _conv_backward_dw_reset, "reset"),
    ("col2im block read as (k, k, C)", "col2im", _col2im_kkc, "(k, k, C)"),
    ("col2im row index ignores the batch", "col2im", _col2im_row_ignores_batch, "image 0's result"),
    (
        "max over the whole (N, C) block",
        "maxpool_forward",
        _maxpool_forward_block_max,
        "whole (N, C, k, k) block",
    ),
    (
        "max-pool forward misses the last column",
        "maxpool_forward",
        _maxpool_forward_last_col_missing,
        "last column",
    ),
    (
        "argmax row and column swapped",
        "maxpool_backward",
        _maxpool_backward_swapped,
        "row and column swapped",
    ),
    (
        "ties to the first maximum column by column (a convention)",
        "maxpool_backward",
        _maxpool_backward_column_major_ties,
        "correct up to the tie convention",
    ),
    (
        "LRN sums x, not x²",
        "lrn_forward",
        lambda x, n, a, b, k: _lrn_general(x, n, a, b, k, power=1),
        "sums x, not x²",
    ),
    (
        "LRN beta on the sum only",
        "lrn_forward",
        lambda x, n, a, b, k: _lrn_general(x, n, a, b, k, beta_on_sum=True),
        "β is applied to the sum only",
    ),
    (
        "LRN window's end exclusive",
        "lrn_forward",
        lambda x, n, a, b, k: _lrn_general(x, n, a, b, k, hi_exclusive=True),
        "upper end is exclusive",
    ),
    ("LRN backward with scale[j] for scale[c]", "lrn_backward", _lrn_backward_scale_j, "scale[j]"),
    ("dropout mask applied at eval", "dropout_forward", _dropout_forward_mask_at_eval, "at test time"),
    ("dropout backward draws a new mask", "dropout_backward", _dropout_backward_new_mask, "keeps state"),
    ("SGD w -= v", "sgd_momentum_paper", _sgd_minus_v, "w ← w − v"),
    (
        "SGD momentum on the new step",
        "sgd_momentum_paper",
        _sgd_momentum_on_new_step,
        "multiplies the new step",
    ),
    ("float32 inside", "conv_forward", _conv_forward_float32_inside, "float32"),
]
MISTAKES += ISSUE_21

# ---- the held-out answers (tests/heldout_answers.py), written without reading this catalogue ------------------
# Measured before the grader was tuned to them (see the issue-21 report), then folded in: each wrong answer must
# fail with the words below in its report ("FAILED" where the report does not name the mistake yet), each correct
# answer must pass.

from heldout_answers import ANSWERS as _HELDOUT_ANSWERS  # noqa: E402

HELDOUT_WORDS = {
    "output_size_round": "rounded to the nearest (round()): the fo",
    "output_size_ceil": "rounded up",
    "output_size_pad_once": "it is added on both sides, 2·padding",
    "output_size_precedence": "only k is divided; write (n + 2p − k) //",
    "output_size_true_div": "floor division",
    "output_size_while_strict": "a window fits while start + k ≤ n + 2p",
    "output_size_pad_on_output": "it belongs to the input, n + 2p",
    "output_size_div_kernel": "divide by the stride",
    "conv_forward_no_bias": "the bias is missing",
    "conv_forward_reflect_pad": "wrong only in the border rows/columns, w",
    "conv_forward_window_no_stride": "wrong only in the cases with stride > 1",
    "conv_forward_first_image": "every image gets image 0's result: is th",
    "conv_forward_filter_transposed": "the kernel's rows and columns swapped: w",
    "conv_forward_last_row_missing": "wrong only in the last row (all others r",
    "conv_forward_no_padding": "the size without padding: pad the input",
    "conv_forward_bias_per_channel": "the bias is added twice",
    "conv_forward_float32": "something inside is float32",
    "conv_backward_crop_minus_p": "empty: a slice like [p:-p] is empty when",
    "conv_backward_no_crop": "the padded shape: crop the padding off d",
    "conv_backward_crop_corner": "equals the expected array moved by 1 row",
    "conv_backward_dx_assign": "are you assigning (=) instead of accumulating (+=)",
    "conv_backward_dw_reset": "dw holds only the last image's contribut",
    "conv_backward_db_mean": "db sums over the batch",
    "conv_backward_dx_flipped": "equals the gradient of a flipped kernel:",
    "conv_backward_dw_first_image": "dw uses image 0's windows for every n: x",
    "conv_backward_dx_no_stride": "wrong only in the cases with stride > 1",
    "conv_backward_db_first_image": "db holds only image 0's gradient: sum ov",
    "im2col_channel_last_columns": "columns in (i, j, c) order: the layout i",
    "im2col_rows_image_fastest": "rows in (y, x, n) order: image n's rows",
    "im2col_window_transposed": "columns in (c, j, i) order: within a cha",
    "im2col_reshape_no_transpose": "the (N, C, H_out, W_out, k, k) windows r",
    "im2col_transposed": "the transpose: one row per output pixel,",
    "im2col_window_no_stride": "wrong only in the cases with stride > 1",
    "im2col_no_padding": "the rows of the unpadded input: pad x by",
    "im2col_rows_column_major": "rows in (n, x, y) order: one row per out",
    "col2im_fancy_plus_equals": "are you assigning (=) instead of accumulating (+=)",
    "col2im_no_crop": "the padded shape: crop the padding off",
    "col2im_crop_corner": "equals the expected array moved by 1 row",
    "col2im_average": "divided by how many windows cover each p",
    "col2im_row_channel_last": "each row of cols read as a (k, k, C) blo",
    "col2im_no_stride": "wrong only in the cases with stride > 1",
    "col2im_stale_buffer": "keeps state between calls",
    "col2im_rows_image_fastest": "the rows read in (y, x, n) order: image",
    "maxpool_forward_window_short": "each window is one element short: the sl",
    "maxpool_forward_ceil_mode": "the output size floors",
    "maxpool_forward_stride_is_kernel": "the windows start at y·k: the stride is",
    "maxpool_forward_mean": "the windows' means: max pooling takes th",
    "maxpool_forward_max_from_zero": "an all-negative window gives 0: start th",
    "maxpool_forward_max_over_channels": "the maximum over all channels of the win",
    "maxpool_forward_last_column_missing": "wrong only in the last column (all other",
    "maxpool_forward_swapped_axes": "the window's rows and columns swapped",
    "maxpool_backward_split_ties": "wrong only in the cases with ties (the o",
    "maxpool_backward_assign": "are you assigning (=) instead of accumulating (+=)",
    "maxpool_backward_unravel_stride": "the flat argmax unravelled with the stri",
    "maxpool_backward_unravel_transposed": "the window's row and column swapped: fla",
    "maxpool_backward_times_value": "multiplied by the maximum's value (dout·",
    "maxpool_backward_window_short": "the gradient went to another element of",
    "maxpool_backward_reuses_x": "work on a copy",
    "maxpool_backward_route_no_stride": "wrong only in the cases with stride > 1",
    "lrn_forward_no_square": "the window sums x, not x²: scale = k + α",
    "lrn_forward_alpha_over_n": "alpha divided by size (PyTorch/Caffe's f",
    "lrn_forward_beta_misplaced": "β is applied to α·Σ x² only: the whole (",
    "lrn_forward_symmetric_even": "the window is size//2 on both sides (siz",
    "lrn_forward_end_exclusive": "the window's upper end is exclusive: j r",
    "lrn_forward_wraparound": "wrong only in the first/last channels, w",
    "lrn_forward_negative_start": "clip it to [0, C)",
    "lrn_forward_mean": "the squares are averaged over the window",
    "lrn_forward_even_wrong_side": "the window's halves are swapped: size//2",
    "lrn_forward_float32": "something inside is float32",
    "lrn_backward_direct_only": "LRN: the cross-channel term is missing (",
    "lrn_backward_no_factor_two": "the cross term misses the 2 of d(x²)/dx",
    "lrn_backward_cross_plus": "the cross-channel term has the wrong sig",
    "lrn_backward_cross_wrong_window": "the backward sum runs over window(j), no",
    "lrn_backward_exponent": "the cross term's exponent is −β: d/dscal",
    "lrn_backward_ac_squared": "the cross term is multiplied by x[c] whe",
    "lrn_backward_mutates_dout": "work on a copy",
    "lrn_backward_alpha_over_n": "alpha divided by size (PyTorch/Caffe's f",
    "lrn_backward_negative_start": "FAILED",
    "softmax_ce_axis0": "softmax over axis 0 (across the batch):",
    "softmax_ce_global_max": "compute log-softmax as (z − max) − log Σ",
    "softmax_ce_grad_no_mean": "the loss is a mean",
    "softmax_ce_loss_sum": "summed over the batch: the loss is the m",
    "softmax_ce_log_eps": "a probability underflowed to 0 and was c",
    "softmax_ce_no_shift": "compute log-softmax as (z − max) − log Σ",
    "softmax_ce_mutates_logits": "work on a copy",
    "softmax_ce_onehot_rows": "d[labels] −= 1 hits whole rows: use d[np",
    "softmax_ce_loss_block": "indexed [:, labels] (every row at every",
    "softmax_ce_grad_sign": "sign flipped: dlogits = (softmax − oneho",
    "softmax_ce_float32": "something inside is float32",
    "dropout_forward_mask_at_eval": "a mask applied at test time: dropout dro",
    "dropout_forward_pytorch_times": "multiplied by 1 − p (the paper's test-ti",
    "dropout_forward_paper_test_unscaled": "not scaled at test time: the paper's con",
    "dropout_forward_pytorch_test_scaled": "divided by 1 − p at test time: inverted",
    "dropout_forward_mask_inverted": "the mask is inverted: True means keep",
    "dropout_forward_divide_by_p": "divided by p: the scale is 1/(1 − p), p",
    "dropout_forward_paper_inplace": "work on a copy",
    "dropout_forward_wrong_string": "not rescaled: inverted dropout divides t",
    "dropout_backward_pytorch_unscaled": "not rescaled: inverted dropout divides t",
    "dropout_backward_paper_scaled": "rescaled by 1/(1 − p): the paper's conve",
    "dropout_backward_redraws_mask": "a different mask from the one passed in",
    "dropout_backward_inplace": "work on a copy",
    "dropout_backward_pytorch_times": "multiplied by 1 − p (the paper's test-ti",
    "dropout_backward_mask_inverted": "the mask is inverted: True means keep",
    "dropout_backward_paper_test_factor": "multiplied by 1 − p in training: the pap",
    "dropout_backward_shared_buffer": "it returns the same (module-level) array",
    "sgd_w_before_v": "w moved by the old v: update v first, th",
    "sgd_decay_sign": "the weight decay's sign: it pulls w towa",
    "sgd_decay_no_lr": "the weight decay is not multiplied by th",
    "sgd_pytorch_form": "PyTorch's form (v ← μv + g + λw, w ← w −",
    "sgd_rebinds": "w is unchanged: update it in place (w +=",
    "sgd_momentum_after": "the momentum multiplies the new step too",
    "sgd_mutates_g": "work on a copy",
    "sgd_w_minus_v": "w ← w − v: the paper's velocity already",
    "sgd_lr_twice": "w ← w + ε·v: the learning rate is applie",
    "sgd_global_velocity": "keeps state between calls",
}
HELDOUT = [
    (f"held out: {a.fn.__name__}", a.exercise, a.fn, HELDOUT_WORDS[a.fn.__name__])
    for a in _HELDOUT_ANSWERS
    if a.kind == "wrong"
]
HELDOUT_CORRECT = [
    (f"held out: {a.fn.__name__}", a.exercise, a.fn) for a in _HELDOUT_ANSWERS if a.kind == "correct"
]
