/* The clean stage's per-character passes in one loop each (filters/clean_text.py says what
 * each fact and repair means; the Python definitions there are the reference the tests
 * compare these with).
 *
 * scan(text, table): one pass over the code points that counts and flags what the clean
 *   stage's repairs and rules look for. ``table`` is a bytes object of 0x110000 class bit
 *   sets, one per code point, built in Python from the definitions (clean_text.CLASS_*),
 *   so what counts as white space, Chinese, unusual, decorative or punctuation is decided
 *   there, not here.
 * normalise_whitespace(text): clean_text's white space normalisation (the same result as
 *   its str.split() version on every text), in one pass; a normal text comes back as is.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define TABLE_SIZE 0x110000

/* Class bits: the same values as clean_text.CLASS_* */
#define C_SPACE 1u       /* str.isspace() (below U+3001): not counted as a character */
#define C_CHINESE 2u     /* CJK unified ideograph */
#define C_TRADITIONAL 4u /* an ideograph only traditional text uses */
#define C_UNUSUAL 8u     /* anything a repair other than white space may touch */
#define C_OTHER_SPACE 16u /* white space other than the ASCII space and line feed */
#define C_DECORATIVE 32u /* decorative symbol */
#define C_PUNCTUATION 64u /* punctuation a run of which is collapsed */

struct facts {
    unsigned int seen;
    Py_ssize_t spaces, chinese, traditional, decorative;
    int repeated_punctuation, symbol_line;
};

/* The loop, written once; each call site passes a constant kind (1, 2 or 4 bytes per code
   point), so that after inlining reading a character is a plain array access. */
static inline __attribute__((always_inline)) void
scan_kind(int kind, const void *data, Py_ssize_t length, const unsigned char *classes, struct facts *f)
{
    Py_UCS4 run_char = 0;
    Py_ssize_t run = 0;
    /* the current line holds a symbol or punctuation mark, and nothing but those and
       ASCII spaces */
    int line_symbols = 0, line_only_symbols = 1;
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        unsigned int bits = classes[c];
        f->seen |= bits;
        if (bits & C_SPACE)
            f->spaces++;
        if (bits & C_CHINESE) {
            f->chinese++;
            if (bits & C_TRADITIONAL)
                f->traditional++;
        }
        if (bits & C_DECORATIVE)
            f->decorative++;
        if (bits & C_PUNCTUATION) {
            if (c == run_char) {
                if (++run >= 4)
                    f->repeated_punctuation = 1;
            }
            else {
                run_char = c;
                run = 1;
            }
        }
        else {
            run_char = 0;
            run = 0;
        }
        if (c == '\n') {
            if (line_symbols && line_only_symbols)
                f->symbol_line = 1;
            line_symbols = 0;
            line_only_symbols = 1;
        }
        else if (bits & (C_DECORATIVE | C_PUNCTUATION))
            line_symbols = 1;
        else if (c != ' ')
            line_only_symbols = 0;
    }
    if (line_symbols && line_only_symbols)
        f->symbol_line = 1;
}

static PyObject *
scan(PyObject *self, PyObject *args)
{
    PyObject *text;
    Py_buffer table;
    if (!PyArg_ParseTuple(args, "Uy*", &text, &table))
        return NULL;
    if (table.len != TABLE_SIZE) {
        PyBuffer_Release(&table);
        PyErr_SetString(PyExc_ValueError, "scan: the class table must have 0x110000 entries");
        return NULL;
    }
    const unsigned char *classes = (const unsigned char *)table.buf;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);

    struct facts f = {0};
    switch (kind) {
    case PyUnicode_1BYTE_KIND:
        scan_kind(PyUnicode_1BYTE_KIND, data, length, classes, &f);
        break;
    case PyUnicode_2BYTE_KIND:
        scan_kind(PyUnicode_2BYTE_KIND, data, length, classes, &f);
        break;
    default:
        scan_kind(PyUnicode_4BYTE_KIND, data, length, classes, &f);
    }
    PyBuffer_Release(&table);
    return Py_BuildValue("(InnnnNN)", f.seen, length - f.spaces, f.chinese, f.traditional, f.decorative,
                         PyBool_FromLong(f.repeated_punctuation), PyBool_FromLong(f.symbol_line));
}

/* str.isspace(): no code point above U+3000 is white space (the test of the class table
   checks), so the common ideographs skip the Unicode database's lookup. */
static inline int
is_space(Py_UCS4 c)
{
    return c <= 0x3000 && Py_UNICODE_ISSPACE(c);
}

/* Whether normalisation would leave the text as it is: no white space but single ASCII
   spaces inside lines, no space next to a line feed, no three line feeds in a row, nothing
   of these at either end. */
static inline __attribute__((always_inline)) int
is_normal(int kind, const void *data, Py_ssize_t length)
{
    if (length == 0)
        return 1;
    Py_UCS4 first = PyUnicode_READ(kind, data, 0), last = PyUnicode_READ(kind, data, length - 1);
    if (first == ' ' || first == '\n' || last == ' ' || last == '\n')
        return 0;
    Py_UCS4 previous = 0, before = 0;
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c == ' ') {
            if (previous == ' ' || previous == '\n')
                return 0;
        }
        else if (c == '\n') {
            if (previous == ' ' || (previous == '\n' && before == '\n'))
                return 0;
        }
        else if (is_space(c))
            return 0;
        before = previous;
        previous = c;
    }
    return 1;
}

/* Writes the normal text into ``out`` (room for 2 * length code points of the same kind:
   U+2029 becomes two line feeds) and returns its length. Words are written as they come;
   between two words of a line goes one space, between two lines min(line feeds, 2) line
   feeds ("\r\n", "\r", "\n" and U+2028 are one, U+2029 two), nothing before the first
   word or after the last. */
static inline __attribute__((always_inline)) Py_ssize_t
normalise_kind(int kind, const void *data, Py_ssize_t length, void *out)
{
    Py_ssize_t n = 0;
    Py_ssize_t newlines = 0; /* line feeds since the last word */
    int space = 0;           /* white space inside the line since the last word */
    int started = 0;         /* a word has been written */
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c == '\n' || c == 0x2028) {
            newlines++;
            space = 0;
        }
        else if (c == '\r') {
            if (i + 1 < length && PyUnicode_READ(kind, data, i + 1) == '\n')
                i++;
            newlines++;
            space = 0;
        }
        else if (c == 0x2029) {
            newlines += 2;
            space = 0;
        }
        else if (is_space(c))
            space = 1;
        else {
            if (started) {
                if (newlines) {
                    PyUnicode_WRITE(kind, out, n++, '\n');
                    if (newlines > 1)
                        PyUnicode_WRITE(kind, out, n++, '\n');
                }
                else if (space)
                    PyUnicode_WRITE(kind, out, n++, ' ');
            }
            PyUnicode_WRITE(kind, out, n++, c);
            started = 1;
            newlines = 0;
            space = 0;
        }
    }
    return n;
}

static PyObject *
normalise_whitespace(PyObject *self, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "normalise_whitespace: a str is needed");
        return NULL;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    int normal;
    switch (kind) {
    case PyUnicode_1BYTE_KIND:
        normal = is_normal(PyUnicode_1BYTE_KIND, data, length);
        break;
    case PyUnicode_2BYTE_KIND:
        normal = is_normal(PyUnicode_2BYTE_KIND, data, length);
        break;
    default:
        normal = is_normal(PyUnicode_4BYTE_KIND, data, length);
    }
    if (normal)
        return Py_NewRef(text);

    void *out = PyMem_Malloc((size_t)kind * (2 * (size_t)length + 1));
    if (out == NULL)
        return PyErr_NoMemory();
    Py_ssize_t n;
    switch (kind) {
    case PyUnicode_1BYTE_KIND:
        n = normalise_kind(PyUnicode_1BYTE_KIND, data, length, out);
        break;
    case PyUnicode_2BYTE_KIND:
        n = normalise_kind(PyUnicode_2BYTE_KIND, data, length, out);
        break;
    default:
        n = normalise_kind(PyUnicode_4BYTE_KIND, data, length, out);
    }
    /* the narrowest kind that holds the result (removed spaces may have been the widest) */
    PyObject *result = PyUnicode_FromKindAndData(kind, out, n);
    PyMem_Free(out);
    return result;
}

/* The bound of clean_text.top_ngram_share: the character n-grams (n from 1 to 3) of the
   text without its white space, each a 63-bit key of 21 bits per code point, hashed into
   4,096 bins by their top 12 bits after a Fibonacci multiplication. Returns (characters
   that are not white space, the largest bin's count): no n-gram occurs more often than
   that count. */
static inline __attribute__((always_inline)) Py_ssize_t
ngram_bins(int kind, const void *data, Py_ssize_t length, int n, Py_ssize_t *bins)
{
    uint64_t key = 0, mask = n == 3 ? ((uint64_t)1 << 63) - 1 : ((uint64_t)1 << (21 * n)) - 1;
    Py_ssize_t seen = 0;
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (is_space(c))
            continue;
        key = ((key << 21) | c) & mask;
        if (++seen >= n)
            bins[(key * UINT64_C(0x9E3779B97F4A7C15)) >> 52]++;
    }
    return seen;
}

static PyObject *
ngram_bound(PyObject *self, PyObject *args)
{
    PyObject *text;
    int n;
    if (!PyArg_ParseTuple(args, "Ui", &text, &n))
        return NULL;
    if (n < 1 || n > 3) {
        PyErr_SetString(PyExc_ValueError, "ngram_bound: n from 1 to 3");
        return NULL;
    }
    Py_ssize_t *bins = PyMem_Calloc(4096, sizeof(Py_ssize_t));
    if (bins == NULL)
        return PyErr_NoMemory();
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text), chars;
    switch (kind) {
    case PyUnicode_1BYTE_KIND:
        chars = ngram_bins(PyUnicode_1BYTE_KIND, data, length, n, bins);
        break;
    case PyUnicode_2BYTE_KIND:
        chars = ngram_bins(PyUnicode_2BYTE_KIND, data, length, n, bins);
        break;
    default:
        chars = ngram_bins(PyUnicode_4BYTE_KIND, data, length, n, bins);
    }
    Py_ssize_t top = 0;
    for (int bin = 0; bin < 4096; bin++)
        if (bins[bin] > top)
            top = bins[bin];
    PyMem_Free(bins);
    return Py_BuildValue("(nn)", chars, top);
}

/* clean_text.dedup_paragraphs without the white space: the lines (as str.split("\n")
   cuts them) but the later copies of one of at least min_chars code points, joined by line
   feeds. The lines seen go into an open-addressing table of (start, length) keyed by an
   FNV-1a hash of their code points, compared character by character on a collision. */
struct line {
    Py_ssize_t start, length;
};

struct dropped {
    Py_ssize_t written, lines, chars;
};

static inline __attribute__((always_inline)) struct dropped
drop_kind(int kind, const void *data, Py_ssize_t length, Py_ssize_t min_chars, struct line *slots, size_t mask,
          void *out)
{
    struct dropped d = {0, 0, 0};
    Py_ssize_t start = 0;
    int first = 1;
    for (Py_ssize_t end = 0; end <= length; end++) {
        if (end < length && PyUnicode_READ(kind, data, end) != '\n')
            continue;
        Py_ssize_t size = end - start;
        int copy = 0;
        if (size >= min_chars) {
            uint64_t hash = UINT64_C(14695981039346656037);
            for (Py_ssize_t i = start; i < end; i++)
                hash = (hash ^ PyUnicode_READ(kind, data, i)) * UINT64_C(1099511628211);
            size_t slot = (size_t)hash & mask;
            for (;;) {
                struct line *entry = &slots[slot];
                if (entry->start < 0) {
                    entry->start = start;
                    entry->length = size;
                    break;
                }
                if (entry->length == size &&
                    memcmp((const char *)data + entry->start * kind, (const char *)data + start * kind, (size_t)size * kind) == 0) {
                    copy = 1;
                    break;
                }
                slot = (slot + 1) & mask;
            }
        }
        if (copy) {
            d.lines++;
            d.chars += size;
        }
        else {
            if (!first)
                PyUnicode_WRITE(kind, out, d.written++, '\n');
            memcpy((char *)out + d.written * kind, (const char *)data + start * kind, (size_t)size * kind);
            d.written += size;
            first = 0;
        }
        start = end + 1;
    }
    return d;
}

static PyObject *
drop_repeated_lines(PyObject *self, PyObject *args)
{
    PyObject *text;
    Py_ssize_t min_chars;
    if (!PyArg_ParseTuple(args, "Un", &text, &min_chars))
        return NULL;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text), lines = 1;
    for (Py_ssize_t i = 0; i < length; i++)
        if (PyUnicode_READ(kind, data, i) == '\n')
            lines++;
    size_t size = 2;
    while (size < 2 * (size_t)lines)
        size *= 2;
    struct line *slots = PyMem_Malloc(size * sizeof(struct line));
    void *out = PyMem_Malloc((size_t)kind * ((size_t)length + 1));
    if (slots == NULL || out == NULL) {
        PyMem_Free(slots);
        PyMem_Free(out);
        return PyErr_NoMemory();
    }
    for (size_t i = 0; i < size; i++)
        slots[i].start = -1;
    struct dropped d;
    switch (kind) {
    case PyUnicode_1BYTE_KIND:
        d = drop_kind(PyUnicode_1BYTE_KIND, data, length, min_chars, slots, size - 1, out);
        break;
    case PyUnicode_2BYTE_KIND:
        d = drop_kind(PyUnicode_2BYTE_KIND, data, length, min_chars, slots, size - 1, out);
        break;
    default:
        d = drop_kind(PyUnicode_4BYTE_KIND, data, length, min_chars, slots, size - 1, out);
    }
    PyMem_Free(slots);
    PyObject *result = d.lines ? PyUnicode_FromKindAndData(kind, out, d.written) : Py_NewRef(text);
    PyMem_Free(out);
    if (result == NULL)
        return NULL;
    return Py_BuildValue("(Nnn)", result, d.lines, d.chars);
}

static PyMethodDef methods[] = {
    {"drop_repeated_lines", drop_repeated_lines, METH_VARARGS,
     "drop_repeated_lines(text, min_chars) -> (the lines but later copies of one of min_chars or more characters, "
     "joined by line feeds; copies dropped; their characters); the text itself when none is dropped"},
    {"ngram_bound", ngram_bound, METH_VARARGS,
     "ngram_bound(text, n) -> (characters not white space, the largest count of n-grams hashed into one of 4,096 bins)"},
    {"scan", scan, METH_VARARGS,
     "scan(text, table) -> (class bits seen, characters not white space, Chinese, traditional-only, "
     "decorative, a run of 4 of one punctuation mark, a line of only symbols)"},
    {"normalise_whitespace", normalise_whitespace, METH_O,
     "Every kind of space to one ASCII space, lines stripped, at most one blank line in a row, "
     "the text stripped; a normal text is returned as is."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_textscan", "The clean stage's per-character passes (filters/_textscan.c).", -1, methods,
};

PyMODINIT_FUNC
PyInit__textscan(void)
{
    return PyModule_Create(&module);
}
