"""Viper (native code) versions of the fast paths in ``fast``: masking
(and, with a zero key, copying) and the UTF-8 automaton.

Importing this module fails with SyntaxError or ValueError where the
native emitter is missing; ``fast`` then uses its Python fallbacks.
"""

import micropython


@micropython.viper
def mask_into_viper(dst, doff: int, src, soff: int, n: int, key, phase: int):
    # dst[doff:doff+n] = src[soff:soff+n] XOR the key from key byte
    # ``phase`` (in place when src is dst, same offset). Bytes up to dst's
    # first aligned word, then aligned 32-bit words, 4 a turn, with the key
    # rotated to match (one word: no big int on a 32-bit board); a source
    # at another alignment is read as aligned words too (never a word
    # without a byte of the source in it: no fault on boards that do not
    # load unaligned words), each output word joined from two of them
    d = int(ptr8(dst)) + doff
    s = int(ptr8(src)) + soff
    k = ptr8(key)
    e = d + n
    while d < e and d & 3:
        ptr8(d)[0] = ptr8(s)[0] ^ k[phase & 3]
        d += 1
        s += 1
        phase += 1
    if e - d >= 4:
        kw = uint(k[phase & 3] | (k[(phase + 1) & 3] << 8) | (k[(phase + 2) & 3] << 16) | (k[(phase + 3) & 3] << 24))
        e16 = d + (((e - d) >> 4) << 4)
        e4 = d + (((e - d) >> 2) << 2)
        r = s & 3
        if r == 0:
            while d < e16:
                p = ptr32(d)
                q = ptr32(s)
                p[0] = q[0] ^ kw
                p[1] = q[1] ^ kw
                p[2] = q[2] ^ kw
                p[3] = q[3] ^ kw
                d += 16
                s += 16
            while d < e4:
                ptr32(d)[0] = ptr32(s)[0] ^ kw
                d += 4
                s += 4
        else:
            # little-endian: an output word is the high bytes of one source
            # word and the low bytes of the next
            sh = uint(r << 3)
            sl = uint(32) - sh
            s -= r
            lo = uint(ptr32(s)[0]) >> sh
            while d < e16:
                p = ptr32(d)
                q = ptr32(s)
                h = uint(q[1])
                p[0] = (lo | (h << sl)) ^ kw
                lo = uint(q[2])
                p[1] = ((h >> sh) | (lo << sl)) ^ kw
                h = uint(q[3])
                p[2] = ((lo >> sh) | (h << sl)) ^ kw
                lo = uint(q[4])
                p[3] = ((h >> sh) | (lo << sl)) ^ kw
                lo = lo >> sh
                d += 16
                s += 16
            while d < e4:
                h = uint(ptr32(s)[1])
                ptr32(d)[0] = (lo | (h << sl)) ^ kw
                lo = h >> sh
                d += 4
                s += 4
            s += r
    while d < e:
        ptr8(d)[0] = ptr8(s)[0] ^ k[phase & 3]
        d += 1
        s += 1
        phase += 1


@micropython.viper
def utf8_viper(buf, i: int, n: int, s: int) -> int:
    p = ptr8(buf)
    a = int(p)
    hi = uint(0x8080) | (uint(0x8080) << 16)  # (a constant over 31 bits: not on a 32-bit board)
    while i < n:
        if s == 0 and ((a + i) & 3) == 0:
            # between characters at an aligned word: ASCII a word at a time
            while i + 4 <= n and (uint(ptr32(a + i)[0]) & hi) == uint(0):
                i += 4
            if i >= n:
                break
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
