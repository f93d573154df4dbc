"""Solutions of the capstone (notebooks/exercises/03_capstone.ipynb): vectorised layer functions, and three
planted wrong backward passes that tests/test_capstone.py checks are caught by name and fail to train."""

import numpy as np

from alexnet_np.exercises.capstone import FUNCTIONS


def im2col(x, kernel_size, stride, padding):
    n, c, h, w = x.shape
    k, s, p = kernel_size, stride, padding
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    # every window as a view (N, C, H_out, W_out, k, k), then one copy into the row layout
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s][:, :, :ho, :wo]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * k * k)


def col2im(cols, x_shape, kernel_size, stride, padding):
    n, c, h, w = x_shape
    k, s, p = kernel_size, stride, padding
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    blocks = cols.reshape(n, ho, wo, c, k, k)
    dxp = np.zeros((n, c, h + 2 * p, w + 2 * p), dtype=cols.dtype)
    for i in range(k):
        for j in range(k):
            dxp[:, :, i : i + s * ho : s, j : j + s * wo : s] += blocks[:, :, :, :, i, j].transpose(
                0, 3, 1, 2
            )
    return dxp[:, :, p : p + h, p : p + w]


def conv_forward(x, w, b, stride, padding):
    n, _, h, wd = x.shape
    f, _, k, _ = w.shape
    ho, wo = (h + 2 * padding - k) // stride + 1, (wd + 2 * padding - k) // stride + 1
    out = im2col(x, k, stride, padding) @ w.reshape(f, -1).T + b
    return out.reshape(n, ho, wo, f).transpose(0, 3, 1, 2).copy()


def conv_backward(dout, x, w, b, stride, padding):
    f, _, k, _ = w.shape
    cols = im2col(x, k, stride, padding)
    d = dout.transpose(0, 2, 3, 1).reshape(-1, f)
    dw = (d.T @ cols).reshape(w.shape)
    dx = col2im(d @ w.reshape(f, -1), x.shape, k, stride, padding)
    return dx, dw, dout.sum(axis=(0, 2, 3))


def relu_forward(x):
    return np.maximum(x, 0)


def relu_backward(dout, x):
    return dout * (x > 0)


def _pool_windows(x, k, s):
    n, c, h, w = x.shape
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    cols = im2col(x.reshape(n * c, 1, h, w), k, s, 0)  # (n·c·ho·wo, k·k)
    return cols, (n, c, ho, wo)


def maxpool_forward(x, kernel_size, stride):
    cols, shape = _pool_windows(x, kernel_size, stride)
    return cols.max(axis=1).reshape(shape)


def maxpool_backward(dout, x, kernel_size, stride):
    cols, shape = _pool_windows(x, kernel_size, stride)
    d = np.zeros_like(cols)
    d[np.arange(len(cols)), cols.argmax(axis=1)] = dout.reshape(-1)
    n, c, h, w = x.shape
    return col2im(d, (n * c, 1, h, w), kernel_size, stride, 0).reshape(x.shape)


def _lrn_scale(x, size, alpha, k):
    c = x.shape[1]
    sq = np.concatenate([np.zeros_like(x[:, :1]), np.cumsum(x * x, axis=1)], axis=1)
    lo = np.maximum(np.arange(c) - size // 2, 0)
    hi = np.minimum(np.arange(c) + (size - 1) // 2 + 1, c)
    return k + alpha * (sq[:, hi] - sq[:, lo])


def lrn_forward(x, size, alpha, beta, k):
    return x * _lrn_scale(x, size, alpha, k) ** -beta


def lrn_backward(dout, x, size, alpha, beta, k):
    c = x.shape[1]
    s = _lrn_scale(x, size, alpha, k)
    t = dout * x * s ** (-beta - 1)
    # x_j is in the window of every c with c − (size−1)//2 <= j <= c + size//2
    tc = np.concatenate([np.zeros_like(t[:, :1]), np.cumsum(t, axis=1)], axis=1)
    lo = np.maximum(np.arange(c) - (size - 1) // 2, 0)
    hi = np.minimum(np.arange(c) + size // 2 + 1, c)
    return dout * s**-beta - 2 * alpha * beta * x * (tc[:, hi] - tc[:, lo])


def linear_forward(x, w, b):
    return x @ w.T + b


def linear_backward(dout, x, w, b):
    return dout @ w, dout.T @ x, dout.sum(axis=0)


def softmax_cross_entropy(logits, labels):
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    d = np.exp(logp)
    d[np.arange(n), labels] -= 1
    return -logp[np.arange(n), labels].mean(), d / n


SOLUTIONS = {name: globals()[name] for name in FUNCTIONS}  # the functions the capstone plugs in


# ---- three planted wrong backward passes, each a classic slip -----------------------------------------


def conv_backward_dw_sign(dout, x, w, b, stride, padding):
    """dW with the wrong sign (dout·cols read as the step instead of the gradient): the filters climb the loss.

    (A kernel rotated by 180° in dx, the other classic slip, left the run at 0.68 held-out against the
    solutions' 0.76: caught by the per-layer check, but not a visible failure to train.)"""
    dx, dw, db = conv_backward(dout, x, w, b, stride, padding)
    return dx, -dw, db


def relu_backward_masks_dout(dout, x):
    """Masked by the sign of the incoming gradient instead of the forward's input."""
    return dout * (dout > 0)


def softmax_cross_entropy_no_onehot(logits, labels):
    """The one-hot is never subtracted: the gradient no longer depends on the labels."""
    loss, d = softmax_cross_entropy(logits, labels)
    n = logits.shape[0]
    d = d.copy()
    d[np.arange(n), labels] += 1 / n
    return loss, d


PLANTED = {  # name -> (the function it replaces, the wrong version)
    "conv backward with dW's sign flipped": ("conv_backward", conv_backward_dw_sign),
    "ReLU backward masked by dout": ("relu_backward", relu_backward_masks_dout),
    "softmax backward without the one-hot": ("softmax_cross_entropy", softmax_cross_entropy_no_onehot),
}
