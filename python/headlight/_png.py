"""The picture other notebook front ends show (JupyterLab, GitHub): every head's attention as a small heat map,
one row of heads per layer. numpy and the standard library only (zlib + struct write the PNG)."""
import struct
import zlib

import numpy as np

#: Width the grid aims at; cells shrink for many heads and never grow past the token count.
TARGET_WIDTH = 640
GAP = 2
#: Shades of the ramp (an indexed PNG: a byte a pixel, and few enough values that noisy heads still compress).
SHADES = 32
_LIGHT, _DARK = np.array([247, 251, 255], dtype=np.float64), np.array([8, 48, 107], dtype=np.float64)


def _blocks(A, size):
    """Mean of A over a size x size grid of blocks (rows and columns split as evenly as possible)."""
    n = A.shape[0]
    edges = (np.arange(size + 1) * n) // size
    counts = np.diff(edges)
    rows = np.add.reduceat(A, edges[:-1], axis=0) / counts[:, None]
    return np.add.reduceat(rows, edges[:-1], axis=1) / counts[None, :]


def heads_png(a):
    """PNG bytes: a [L, H, n, n] attention as an L x H grid of heat maps, each scaled to its own largest weight and
    lifted with a square root so faint structure shows (as the Heads catalog's thumbnails are). Index 0 is the white
    between cells, 1..SHADES the ramp from light (no weight) to dark (the head's largest)."""
    L, H, n, _ = a.shape
    cell = int(max(8, min(96, n, (TARGET_WIDTH - GAP * (H - 1)) // H)))
    width, height = H * cell + GAP * (H - 1), L * cell + GAP * (L - 1)
    img = np.zeros((height, width), dtype=np.uint8)
    for l in range(L):
        for h in range(H):
            b = _blocks(a[l, h].astype(np.float64), min(cell, n))
            m = b.max()
            t = np.sqrt(b / m) if m > 0 else b
            if b.shape[0] != cell:  # fewer tokens than pixels: each token a square of pixels
                k = cell // b.shape[0]
                t = np.kron(t, np.ones((k, k)))
                t = np.pad(t, ((0, cell - t.shape[0]), (0, cell - t.shape[1])))
            y, x = l * (cell + GAP), h * (cell + GAP)
            img[y:y + cell, x:x + cell] = 1 + np.rint(t * (SHADES - 1)).astype(np.uint8)
    ramp = _LIGHT + (_DARK - _LIGHT) * (np.arange(SHADES)[:, None] / (SHADES - 1))
    palette = np.vstack([[255, 255, 255], np.rint(ramp)]).astype(np.uint8)
    return encode_png(img, palette)


def encode_png(index, palette):
    """A minimal indexed-colour PNG (IHDR, PLTE, one IDAT, IEND)."""
    h, w = index.shape
    rows = np.concatenate([np.zeros((h, 1), dtype=np.uint8), index], axis=1)  # filter byte 0 per row

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0)) + chunk(b"PLTE", palette.tobytes())
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), 9)) + chunk(b"IEND", b""))
