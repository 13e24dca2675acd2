/* Optional C fast paths for the CPython port (microproto_port.fast).

   Written for microproto; built by setup.py when a compiler is at hand
   (optional: without one the pure-Python code in fast.py is used, with the
   same results). Same names, arguments and results as fast.py:

   mask(buf, key, phase=0, start=0, end=-1)
   mask_into(dst, doff, src, soff, n, key, phase=0)
   utf8_check(buf, state=0, start=0, end=-1)
   copy_into(dst, doff, src, soff, n)

   Ranges outside a buffer raise ValueError (nothing is touched). */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* The 4-byte key repeated over 8 bytes, starting at key byte `phase`. */
static uint64_t
key_word(const unsigned char *key, Py_ssize_t phase)
{
    unsigned char w[8];
    int i;
    for (i = 0; i < 8; i++)
        w[i] = key[(i + phase) & 3];
    uint64_t k;
    memcpy(&k, w, 8);
    return k;
}

/* dst[i] = src[i] ^ key[(i + phase) & 3] for i < n (dst may be src). */
static void
xor_run(unsigned char *dst, const unsigned char *src, Py_ssize_t n,
        const unsigned char *key, Py_ssize_t phase)
{
    Py_ssize_t i = 0;
    if (n >= 16) {
        uint64_t k = key_word(key, phase);
        for (; i + 8 <= n; i += 8) {
            uint64_t v;
            memcpy(&v, src + i, 8);
            v ^= k;
            memcpy(dst + i, &v, 8);
        }
    }
    for (; i < n; i++)
        dst[i] = src[i] ^ key[(i + phase) & 3];
}

/* xor_run, without holding the GIL for runs long enough to pay for it. */
static void
xor_any(unsigned char *dst, const unsigned char *src, Py_ssize_t n,
        const unsigned char *key, Py_ssize_t phase)
{
    if (n > 4096) {
        Py_BEGIN_ALLOW_THREADS
        xor_run(dst, src, n, key, phase & 3);
        Py_END_ALLOW_THREADS
    } else {
        xor_run(dst, src, n, key, phase & 3);
    }
}

static int
check_key(Py_buffer *key)
{
    if (key->len < 4) {
        PyErr_SetString(PyExc_ValueError, "key shorter than 4 bytes");
        return -1;
    }
    return 0;
}

static int
check_range(Py_ssize_t len, Py_ssize_t off, Py_ssize_t n)
{
    if (off < 0 || n > len || off > len - n) {
        PyErr_SetString(PyExc_ValueError, "range outside the buffer");
        return -1;
    }
    return 0;
}

static PyObject *
sp_mask(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"buf", "key", "phase", "start", "end", NULL};
    Py_buffer buf, key;
    Py_ssize_t phase = 0, start = 0, end = -1;
    PyObject *res = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "w*y*|nnn:mask", names, &buf, &key, &phase, &start, &end))
        return NULL;
    if (end < 0)
        end = buf.len;
    if (check_key(&key) == 0) {
        Py_ssize_t n = end - start;
        if (n <= 0) {
            res = Py_None;
        } else if (check_range(buf.len, start, n) == 0) {
            unsigned char *p = (unsigned char *)buf.buf + start;
            xor_any(p, p, n, (const unsigned char *)key.buf, phase);
            res = Py_None;
        }
    }
    PyBuffer_Release(&buf);
    PyBuffer_Release(&key);
    Py_XINCREF(res);
    return res;
}

static PyObject *
sp_mask_into(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"dst", "doff", "src", "soff", "n", "key", "phase", NULL};
    Py_buffer dst, src, key;
    Py_ssize_t doff, soff, n, phase = 0;
    PyObject *res = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "w*ny*nny*|n:mask_into", names, &dst, &doff, &src, &soff, &n,
                                     &key, &phase))
        return NULL;
    if (check_key(&key) == 0) {
        if (n <= 0) {
            res = Py_None;
        } else if (check_range(dst.len, doff, n) == 0 && check_range(src.len, soff, n) == 0) {
            unsigned char *d = (unsigned char *)dst.buf + doff;
            const unsigned char *s = (const unsigned char *)src.buf + soff;
            xor_any(d, s, n, (const unsigned char *)key.buf, phase);
            res = Py_None;
        }
    }
    PyBuffer_Release(&dst);
    PyBuffer_Release(&src);
    PyBuffer_Release(&key);
    Py_XINCREF(res);
    return res;
}

static PyObject *
sp_copy_into(PyObject *self, PyObject *args)
{
    Py_buffer dst, src;
    Py_ssize_t doff, soff, n;
    PyObject *res = NULL;
    if (!PyArg_ParseTuple(args, "w*ny*nn:copy_into", &dst, &doff, &src, &soff, &n))
        return NULL;
    if (n <= 0) {
        res = Py_None;
    } else if (check_range(dst.len, doff, n) == 0 && check_range(src.len, soff, n) == 0) {
        memmove((char *)dst.buf + doff, (const char *)src.buf + soff, (size_t)n);
        res = Py_None;
    }
    PyBuffer_Release(&dst);
    PyBuffer_Release(&src);
    Py_XINCREF(res);
    return res;
}

/* The automaton of microproto.fastpy.utf8_step: states 0 (complete), 1-3
   (that many continuation bytes to come), 4 (after E0), 5 (after ED),
   6 (after F0), 7 (after F4); -1 invalid. */
static int
utf8_step(int s, unsigned int b)
{
    unsigned int lo, hi;
    int next;
    if (s == 0) {
        if (b < 0x80)
            return 0;
        if (b < 0xC2)
            return -1;
        if (b < 0xE0)
            return 1;
        if (b == 0xE0)
            return 4;
        if (b == 0xED)
            return 5;
        if (b < 0xF0)
            return 2;
        if (b == 0xF0)
            return 6;
        if (b < 0xF4)
            return 3;
        if (b == 0xF4)
            return 7;
        return -1;
    }
    switch (s) {
    case 1: case 2: case 3:
        lo = 0x80; hi = 0xBF; next = s - 1; break;
    case 4:
        lo = 0xA0; hi = 0xBF; next = 1; break;
    case 5:
        lo = 0x80; hi = 0x9F; next = 1; break;
    case 6:
        lo = 0x90; hi = 0xBF; next = 2; break;
    default:
        lo = 0x80; hi = 0x8F; next = 2; break;
    }
    return (b >= lo && b <= hi) ? next : -1;
}

static PyObject *
sp_utf8_check(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"buf", "state", "start", "end", NULL};
    Py_buffer buf;
    Py_ssize_t state = 0, start = 0, end = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "y*|nnn:utf8_check", names, &buf, &state, &start, &end))
        return NULL;
    if (state < 0 || state > 7) {
        PyBuffer_Release(&buf);
        return PyLong_FromLong(-1);
    }
    if (end < 0)
        end = buf.len;
    if (end > start && check_range(buf.len, start, end - start) < 0) {
        PyBuffer_Release(&buf);
        return NULL;
    }
    const unsigned char *p = (const unsigned char *)buf.buf;
    int s = (int)state;
    Py_ssize_t i = start;
    while (i < end) {
        if (s == 0) {
            /* ASCII runs eight bytes at a time */
            while (i + 8 <= end) {
                uint64_t v;
                memcpy(&v, p + i, 8);
                if (v & UINT64_C(0x8080808080808080))
                    break;
                i += 8;
            }
            while (i < end && p[i] < 0x80)
                i++;
            if (i == end)
                break;
        }
        s = utf8_step(s, p[i]);
        if (s < 0)
            break;
        i++;
    }
    PyBuffer_Release(&buf);
    return PyLong_FromLong(s);
}

static PyMethodDef methods[] = {
    {"mask", (PyCFunction)(void (*)(void))sp_mask, METH_VARARGS | METH_KEYWORDS,
     "mask(buf, key, phase=0, start=0, end=-1): XOR buf[start:end] in place with the 4-byte key from key byte phase."},
    {"mask_into", (PyCFunction)(void (*)(void))sp_mask_into, METH_VARARGS | METH_KEYWORDS,
     "mask_into(dst, doff, src, soff, n, key, phase=0): copy n bytes XORed with the key."},
    {"copy_into", sp_copy_into, METH_VARARGS, "copy_into(dst, doff, src, soff, n): copy n bytes."},
    {"utf8_check", (PyCFunction)(void (*)(void))sp_utf8_check, METH_VARARGS | METH_KEYWORDS,
     "utf8_check(buf, state=0, start=0, end=-1): the UTF-8 automaton's state after buf[start:end] (-1: invalid)."},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_speedups", "microproto's optional C fast paths (see fast.py).", -1, methods,
    NULL, NULL, NULL, NULL
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModule_Create(&module);
}
