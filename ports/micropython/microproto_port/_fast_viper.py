"""Viper (native code) versions of the fast paths in ``fast``.

Importing this module fails with SyntaxError or ValueError where the
native emitter is missing; ``fast`` then uses its Python fallbacks.
"""

import micropython


@micropython.viper
def mask_viper(buf, i: int, n: int, key, phase: int):
    # (also the unmask-while-copying of mask_into_viper: see there)
    p = ptr8(buf)
    k = ptr8(key)
    j = phase
    # bytes up to the first aligned word, then 32-bit words with the key
    # rotated to match (read as one word: no big int on a 32-bit board)
    while i < n and (int(p) + i) & 3:
        p[i] = p[i] ^ k[j & 3]
        i += 1
        j += 1
    w = (n - i) >> 2
    if w > 0:
        kw = k[j & 3] | (k[(j + 1) & 3] << 8) | (k[(j + 2) & 3] << 16) | (k[(j + 3) & 3] << 24)
        p32 = ptr32(int(p) + i)
        m = 0
        while m < w:
            p32[m] = p32[m] ^ kw
            m += 1
        i += w << 2
    while i < n:
        p[i] = p[i] ^ k[j & 3]
        i += 1
        j += 1


@micropython.viper
def mask_into_viper(dst, doff: int, src, soff: int, n: int, key, phase: int):
    d = ptr8(dst)
    s = ptr8(src)
    k = ptr8(key)
    i = 0
    a = int(d) + doff
    b = int(s) + soff
    if ((a | b) & 3) == 0:
        kw = k[phase & 3] | (k[(phase + 1) & 3] << 8) | (k[(phase + 2) & 3] << 16) | (k[(phase + 3) & 3] << 24)
        d32 = ptr32(a)
        s32 = ptr32(b)
        w = n >> 2
        while i < w:
            d32[i] = s32[i] ^ kw
            i += 1
        i = w << 2
    while i < n:
        d[doff + i] = s[soff + i] ^ k[(i + phase) & 3]
        i += 1


@micropython.viper
def utf8_viper(buf, i: int, n: int, s: int) -> int:
    p = ptr8(buf)
    while i < n:
        b = p[i]
        i += 1
        if s == 0:
            if b < 0x80:
                continue
            if b < 0xC2:
                return -1
            if b < 0xE0:
                s = 1
            elif b == 0xE0:
                s = 4
            elif b == 0xED:
                s = 5
            elif b < 0xF0:
                s = 2
            elif b == 0xF0:
                s = 6
            elif b < 0xF4:
                s = 3
            elif b == 0xF4:
                s = 7
            else:
                return -1
        elif s < 4:
            if b < 0x80 or b > 0xBF:
                return -1
            s -= 1
        elif s == 4:
            if b < 0xA0 or b > 0xBF:
                return -1
            s = 1
        elif s == 5:
            if b < 0x80 or b > 0x9F:
                return -1
            s = 1
        elif s == 6:
            if b < 0x90 or b > 0xBF:
                return -1
            s = 2
        else:
            if b < 0x80 or b > 0x8F:
                return -1
            s = 2
    return s


@micropython.viper
def copy_viper(dst, doff: int, src, soff: int, n: int):
    d = ptr8(dst)
    s = ptr8(src)
    i = 0
    a = int(d) + doff
    b = int(s) + soff
    if ((a | b) & 3) == 0:
        d32 = ptr32(a)
        s32 = ptr32(b)
        w = n >> 2
        while i < w:
            d32[i] = s32[i]
            i += 1
        i = w << 2
    while i < n:
        d[doff + i] = s[soff + i]
        i += 1
