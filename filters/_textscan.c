/* The clean stage's passes over every character, compiled (filters/clean_text.py defines
 * what each fact and repair means; tests compare every function here with its definition
 * there, on the whole sample corpus and under Hypothesis).
 *
 * Which class a character belongs to (white space, Chinese, unusual, decorative,
 * punctuation, invisible ...) is not decided here: ``table`` is a bytes object of 0x110000
 * 16-bit class sets, one per code point, that clean_text.class_table marks where its own
 * regular expressions match.
 *
 * scan                  the counts and facts of a text, in one pass
 * normalise_whitespace  clean_text.normalise_whitespace
 * repair_unicode        clean_text.fix_unicode's character repairs and white space
 * remove_symbol_runs    collapse runs of one punctuation mark, remove decorative runs
 * drop_symbol_lines     the lines that became symbols only, where they were separators or decorations
 * drop_repeated_lines   later copies of a line
 * ngram_bound           the bound of clean_text.top_ngram_share
 * repeated_ngrams       the counts of clean_text.repeated_ngram_share
 *
 * Every loop is written once as an always-inlined function of the string's kind (1, 2 or
 * 4 bytes per code point) and called through FOR_KIND with a constant kind, so reading a
 * character is a plain array access.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define TABLE_SIZE 0x110000
#define INLINE static inline __attribute__((always_inline))

/* Class bits: the same values as clean_text.CLASS_* */
#define C_SPACE 1u         /* str.isspace() (below U+3001): not counted as a character */
#define C_CHINESE 2u       /* CJK unified ideograph */
#define C_TRADITIONAL 4u   /* an ideograph only traditional text uses */
#define C_UNUSUAL 8u       /* anything a repair other than white space may touch */
#define C_OTHER_SPACE 16u  /* white space other than the ASCII space and line feed */
#define C_DECORATIVE 32u   /* decorative symbol */
#define C_PUNCTUATION 64u  /* punctuation a run of which is collapsed */
#define C_INVISIBLE 128u   /* control, format, private-use, surrogate, replacement: removed */
#define C_RADICAL 256u     /* Kangxi or supplementary radical: to its NFKC form */
#define C_FULLWIDTH 512u   /* full-width letter or digit: to ASCII */
#define C_COMMON 1024u     /* one of the commonest Chinese characters (mojibake is made of rarer ones) */
#define C_ZH_PUNCT 2048u   /* Chinese punctuation: part of Chinese text */
#define C_KANA 4096u       /* Japanese kana */
#define C_HANGUL 8192u     /* Korean hangul */

typedef uint16_t classes_t;

#define FOR_KIND(kind, statement)                                                                                      \
    switch (kind) {                                                                                                    \
    case PyUnicode_1BYTE_KIND: {                                                                                       \
        const int K = PyUnicode_1BYTE_KIND;                                                                            \
        statement;                                                                                                     \
        break;                                                                                                         \
    }                                                                                                                  \
    case PyUnicode_2BYTE_KIND: {                                                                                       \
        const int K = PyUnicode_2BYTE_KIND;                                                                            \
        statement;                                                                                                     \
        break;                                                                                                         \
    }                                                                                                                  \
    default: {                                                                                                         \
        const int K = PyUnicode_4BYTE_KIND;                                                                            \
        statement;                                                                                                     \
    }                                                                                                                  \
    }

/* The class table argument: a buffer of TABLE_SIZE 16-bit entries. */
static int
get_table(PyObject *object, Py_buffer *view)
{
    if (PyObject_GetBuffer(object, view, PyBUF_SIMPLE) < 0)
        return -1;
    if (view->len != TABLE_SIZE * (Py_ssize_t)sizeof(classes_t)) {
        PyBuffer_Release(view);
        PyErr_SetString(PyExc_ValueError, "the class table must have 0x110000 16-bit entries");
        return -1;
    }
    return 0;
}

/* str.isspace(): no code point above U+3000 is white space (a test checks), so the
   common ideographs skip the Unicode database's lookup. */
INLINE int
is_space(Py_UCS4 c)
{
    return c <= 0x3000 && Py_UNICODE_ISSPACE(c);
}

/* --- scan ------------------------------------------------------------------------------ */

struct facts {
    unsigned int seen;
    Py_ssize_t spaces, chinese, traditional, decorative, common, zh_punctuation, kana, hangul;
    int repeated_punctuation, symbol_line;
};

INLINE void
scan_kind(int kind, const void *data, Py_ssize_t length, const classes_t *classes, struct facts *f)
{
    Py_UCS4 run_char = 0;
    Py_ssize_t run = 0;
    /* the current line holds a symbol or punctuation mark, and nothing but those and ASCII
       spaces */
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
            if (bits & C_COMMON)
                f->common++;
        }
        if (bits & (C_ZH_PUNCT | C_KANA | C_HANGUL)) {
            f->zh_punctuation += (bits & C_ZH_PUNCT) != 0;
            f->kana += (bits & C_KANA) != 0;
            f->hangul += (bits & C_HANGUL) != 0;
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
    PyObject *text, *table_object;
    Py_buffer table;
    if (!PyArg_ParseTuple(args, "UO", &text, &table_object) || get_table(table_object, &table) < 0)
        return NULL;
    const classes_t *classes = table.buf;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    struct facts f = {0};
    FOR_KIND(kind, scan_kind(K, data, length, classes, &f));
    PyBuffer_Release(&table);
    return Py_BuildValue("(InnnnNNnnnn)", f.seen, length - f.spaces, f.chinese, f.traditional, f.decorative,
                         PyBool_FromLong(f.repeated_punctuation), PyBool_FromLong(f.symbol_line), f.common,
                         f.zh_punctuation, f.kana, f.hangul);
}

/* --- white space ----------------------------------------------------------------------- */

/* Writes a stream of characters as normalised text: words as they come; between two words
   of a line one space, between two lines min(line feeds, 2) line feeds ("\r\n", "\r",
   "\n" and U+2028 are one line feed, U+2029 two); nothing before the first word or after
   the last. ``out`` has room for twice the input (U+2029 becomes two characters). */
struct writer {
    void *out;
    Py_ssize_t n, newlines;
    int space, started, after_cr;
};

INLINE void
put(int kind, struct writer *w, Py_UCS4 c)
{
    if (c == '\n' && w->after_cr) { /* the second half of "\r\n" */
        w->after_cr = 0;
        return;
    }
    w->after_cr = c == '\r';
    if (c == '\n' || c == '\r' || c == 0x2028) {
        w->newlines++;
        w->space = 0;
    }
    else if (c == 0x2029) {
        w->newlines += 2;
        w->space = 0;
    }
    else if (is_space(c))
        w->space = 1;
    else {
        if (w->started) {
            if (w->newlines) {
                PyUnicode_WRITE(kind, w->out, w->n++, '\n');
                if (w->newlines > 1)
                    PyUnicode_WRITE(kind, w->out, w->n++, '\n');
            }
            else if (w->space)
                PyUnicode_WRITE(kind, w->out, w->n++, ' ');
        }
        PyUnicode_WRITE(kind, w->out, w->n++, c);
        w->started = 1;
        w->newlines = 0;
        w->space = 0;
    }
}

/* Whether normalisation leaves the character as it is where it stands: no white space but
   single ASCII spaces inside lines, no space next to a line feed, no three line feeds in a
   row, none of these at either end. */
INLINE int
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

INLINE Py_ssize_t
normalise_kind(int kind, const void *data, Py_ssize_t length, void *out)
{
    struct writer w = {out, 0, 0, 0, 0, 0};
    for (Py_ssize_t i = 0; i < length; i++)
        put(kind, &w, PyUnicode_READ(kind, data, i));
    return w.n;
}

static PyObject *
normalise_whitespace(PyObject *self, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "normalise_whitespace: a str is needed");
        return NULL;
    }
    if (PyUnicode_READY(text) < 0)
        return NULL;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text), n = 0;
    int normal = 0;
    FOR_KIND(kind, normal = is_normal(K, data, length));
    if (normal)
        return Py_NewRef(text);
    void *out = PyMem_Malloc((size_t)kind * (2 * (size_t)length + 1));
    if (out == NULL)
        return PyErr_NoMemory();
    FOR_KIND(kind, n = normalise_kind(K, data, length, out));
    /* the narrowest kind that holds the result (removed spaces may have been the widest) */
    PyObject *result = PyUnicode_FromKindAndData(kind, out, n);
    PyMem_Free(out);
    return result;
}

/* --- unicode repairs ------------------------------------------------------------------- */

struct repairs {
    Py_ssize_t invisible, radicals, fullwidth;
};

/* Whether the text needs no repair: no invisible, radical or full-width character, and
   its white space is normal. */
INLINE int
needs_none(int kind, const void *data, Py_ssize_t length, const classes_t *classes)
{
    for (Py_ssize_t i = 0; i < length; i++)
        if (classes[PyUnicode_READ(kind, data, i)] & (C_INVISIBLE | C_RADICAL | C_FULLWIDTH))
            return 0;
    return is_normal(kind, data, length);
}

/* Invisible characters dropped, radicals and full-width letters and digits mapped, the
   rest written through the white space normaliser: as clean_text.fix_unicode does it
   step by step (the classes are disjoint, and each is a map of single characters). */
INLINE struct repairs
repair_kind(int kind, const void *data, Py_ssize_t length, const classes_t *classes, const char *radicals,
            Py_UCS4 radical_base, Py_ssize_t radical_count, struct writer *w)
{
    struct repairs r = {0, 0, 0};
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        unsigned int bits = classes[c];
        if (bits & C_INVISIBLE) {
            r.invisible++;
            continue;
        }
        if (bits & C_RADICAL) {
            r.radicals++;
            if (c >= radical_base && c - radical_base < (Py_UCS4)radical_count)
                memcpy(&c, radicals + sizeof(Py_UCS4) * (c - radical_base), sizeof(Py_UCS4)); /* any alignment */
        }
        else if (bits & C_FULLWIDTH) {
            r.fullwidth++;
            c -= 0xFEE0;
        }
        put(PyUnicode_4BYTE_KIND, w, c);
    }
    return r;
}

static PyObject *
repair_unicode(PyObject *self, PyObject *args)
{
    PyObject *text, *table_object;
    Py_buffer table, radicals;
    unsigned int radical_base;
    if (!PyArg_ParseTuple(args, "UOIy*", &text, &table_object, &radical_base, &radicals))
        return NULL;
    if (get_table(table_object, &table) < 0) {
        PyBuffer_Release(&radicals);
        return NULL;
    }
    const classes_t *classes = table.buf;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    int untouched = 0;
    FOR_KIND(kind, untouched = needs_none(K, data, length, classes));
    PyObject *result = NULL;
    struct repairs r = {0, 0, 0};
    if (untouched)
        result = Py_NewRef(text);
    else {
        /* written as UCS4: a radical's ideograph may be wider than the text's kind */
        Py_UCS4 *out = PyMem_Malloc(sizeof(Py_UCS4) * (2 * (size_t)length + 1));
        if (out == NULL)
            PyErr_NoMemory();
        else {
            struct writer w = {out, 0, 0, 0, 0, 0};
            FOR_KIND(kind, r = repair_kind(K, data, length, classes, radicals.buf, radical_base,
                                           radicals.len / (Py_ssize_t)sizeof(Py_UCS4), &w));
            result = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, out, w.n);
            PyMem_Free(out);
        }
    }
    PyBuffer_Release(&table);
    PyBuffer_Release(&radicals);
    if (result == NULL)
        return NULL;
    return Py_BuildValue("(Nnnn)", result, r.invisible, r.radicals, r.fullwidth);
}

/* --- symbols --------------------------------------------------------------------------- */

/* Runs of 4 or more of one punctuation mark to one (clean_text's ([P])\1{3,} -> \1), then
   runs of 3 or more decorative symbols, single spaces allowed between them, removed
   ([D](?: ?[D]){2,} -> ""). A decorative run that is too short cannot start a longer one
   later inside it, so the scan goes on after it. */
INLINE Py_ssize_t
collapse_kind(int kind, const void *data, Py_ssize_t length, const classes_t *classes, void *out)
{
    Py_ssize_t n = 0;
    for (Py_ssize_t i = 0; i < length;) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        Py_ssize_t j = i + 1;
        if (classes[c] & C_PUNCTUATION) {
            while (j < length && PyUnicode_READ(kind, data, j) == c)
                j++;
            if (j - i >= 4) {
                PyUnicode_WRITE(kind, out, n++, c);
                i = j;
                continue;
            }
        }
        for (; i < j; i++)
            PyUnicode_WRITE(kind, out, n++, PyUnicode_READ(kind, data, i));
    }
    return n;
}

INLINE Py_ssize_t
decorative_kind(int kind, const void *data, Py_ssize_t length, const classes_t *classes, void *out)
{
    Py_ssize_t n = 0;
    for (Py_ssize_t i = 0; i < length;) {
        Py_ssize_t j = i + 1;
        if (classes[PyUnicode_READ(kind, data, i)] & C_DECORATIVE) {
            Py_ssize_t symbols = 1;
            for (;;) {
                if (j < length && classes[PyUnicode_READ(kind, data, j)] & C_DECORATIVE)
                    j++;
                else if (j + 1 < length && PyUnicode_READ(kind, data, j) == ' ' &&
                         classes[PyUnicode_READ(kind, data, j + 1)] & C_DECORATIVE)
                    j += 2;
                else
                    break;
                symbols++;
            }
            if (symbols >= 3) {
                i = j;
                continue;
            }
        }
        for (; i < j; i++)
            PyUnicode_WRITE(kind, out, n++, PyUnicode_READ(kind, data, i));
    }
    return n;
}

static PyObject *
remove_symbol_runs(PyObject *self, PyObject *args)
{
    PyObject *text, *table_object;
    Py_buffer table;
    int punctuation, decorative;
    if (!PyArg_ParseTuple(args, "UOpp", &text, &table_object, &punctuation, &decorative) ||
        get_table(table_object, &table) < 0)
        return NULL;
    const classes_t *classes = table.buf;
    int kind = PyUnicode_KIND(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text), n = length;
    void *first = PyMem_Malloc((size_t)kind * ((size_t)length + 1));
    void *second = PyMem_Malloc((size_t)kind * ((size_t)length + 1));
    PyObject *result = NULL;
    if (first == NULL || second == NULL)
        PyErr_NoMemory();
    else {
        const void *data = PyUnicode_DATA(text);
        if (punctuation) {
            FOR_KIND(kind, n = collapse_kind(K, data, length, classes, first));
            data = first;
        }
        if (decorative) {
            Py_ssize_t m = 0;
            FOR_KIND(kind, m = decorative_kind(K, data, n, classes, second));
            data = second;
            n = m;
        }
        result = PyUnicode_FromKindAndData(kind, data, n);
    }
    PyMem_Free(first);
    PyMem_Free(second);
    PyBuffer_Release(&table);
    return result;
}

/* The lines of ``cleaned`` (symbol runs removed from ``text``; the two have the same line
   feeds) joined by line feeds, but those that were not blank in ``text`` and hold nothing
   but symbols, punctuation and spaces in ``cleaned``. */
INLINE Py_ssize_t
symbol_lines_kind(int kind, int old_kind, const void *old, Py_ssize_t old_length, const void *data, Py_ssize_t length,
                  const classes_t *classes, void *out, int *mismatch)
{
    Py_ssize_t n = 0, i = 0, o = 0;
    int first = 1;
    while (i <= length) {
        if (o > old_length) {
            *mismatch = 1;
            return 0;
        }
        /* What the line was: blank; holding a decorative symbol; one mark repeated
           (a separator such as ----- or =====), counted in ``repeats``. */
        int old_blank = 1, decorated = 0, one_mark = 1;
        Py_UCS4 mark = 0;
        Py_ssize_t repeats = 0;
        for (; o < old_length; o++) {
            Py_UCS4 c = PyUnicode_READ(old_kind, old, o);
            if (c == '\n')
                break;
            if (is_space(c))
                continue;
            old_blank = 0;
            if (classes[c] & C_DECORATIVE)
                decorated = 1;
            if (repeats && c != mark)
                one_mark = 0;
            mark = c;
            repeats++;
        }
        o++;
        Py_ssize_t start = i;
        int only_symbols = 1;
        for (; i < length; i++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            if (c == '\n')
                break;
            if (c != ' ' && !(classes[c] & (C_DECORATIVE | C_PUNCTUATION)))
                only_symbols = 0;
        }
        /* Only separators and decorations go: a line of code punctuation ({, };, *\/) stays. */
        if (old_blank || !only_symbols || !(decorated || (one_mark && repeats >= 3))) {
            if (!first)
                PyUnicode_WRITE(kind, out, n++, '\n');
            memcpy((char *)out + n * kind, (const char *)data + start * kind, (size_t)(i - start) * kind);
            n += i - start;
            first = 0;
        }
        i++;
    }
    if (o <= old_length)
        *mismatch = 1; /* text has more lines */
    return n;
}

static PyObject *
drop_symbol_lines(PyObject *self, PyObject *args)
{
    PyObject *text, *cleaned, *table_object;
    Py_buffer table;
    if (!PyArg_ParseTuple(args, "UUO", &text, &cleaned, &table_object) || get_table(table_object, &table) < 0)
        return NULL;
    int kind = PyUnicode_KIND(cleaned), mismatch = 0;
    Py_ssize_t length = PyUnicode_GET_LENGTH(cleaned), n = 0;
    void *out = PyMem_Malloc((size_t)kind * ((size_t)length + 1));
    PyObject *result = NULL;
    if (out == NULL)
        PyErr_NoMemory();
    else {
        const void *old = PyUnicode_DATA(text), *data = PyUnicode_DATA(cleaned);
        int old_kind = PyUnicode_KIND(text);
        Py_ssize_t old_length = PyUnicode_GET_LENGTH(text);
        FOR_KIND(kind, n = symbol_lines_kind(K, old_kind, old, old_length, data, length, table.buf, out, &mismatch));
        if (mismatch)
            PyErr_SetString(PyExc_ValueError, "drop_symbol_lines: the texts have different numbers of lines");
        else
            result = PyUnicode_FromKindAndData(kind, out, n);
    }
    PyMem_Free(out);
    PyBuffer_Release(&table);
    return result;
}

/* --- repeated lines -------------------------------------------------------------------- */

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

INLINE struct dropped
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
                    memcmp((const char *)data + entry->start * kind, (const char *)data + start * kind,
                           (size_t)size * kind) == 0) {
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
    struct dropped d = {0, 0, 0};
    FOR_KIND(kind, d = drop_kind(K, data, length, min_chars, slots, size - 1, out));
    PyMem_Free(slots);
    PyObject *result = d.lines ? PyUnicode_FromKindAndData(kind, out, d.written) : Py_NewRef(text);
    PyMem_Free(out);
    if (result == NULL)
        return NULL;
    return Py_BuildValue("(Nnn)", result, d.lines, d.chars);
}

/* --- repetition bound ------------------------------------------------------------------ */

/* The bound of clean_text.top_ngram_share: the character n-grams (n from 1 to 3) of the
   text without its white space, each a 63-bit key of 21 bits per code point, hashed into
   4,096 bins by their top 12 bits after a Fibonacci multiplication. Returns (characters
   that are not white space, the largest bin's count): no n-gram occurs more often than
   that count. */
INLINE Py_ssize_t
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
    Py_ssize_t length = PyUnicode_GET_LENGTH(text), chars = 0;
    FOR_KIND(kind, chars = ngram_bins(K, data, length, n, bins));
    Py_ssize_t top = 0;
    for (int bin = 0; bin < 4096; bin++)
        if (bins[bin] > top)
            top = bins[bin];
    PyMem_Free(bins);
    return Py_BuildValue("(nn)", chars, top);
}

/* --- repeated n-grams ------------------------------------------------------------------ */

/* clean_text.repeated_ngram_share's counts: of the character n-grams of the text without
   its white space, how many there are and how many repeat an earlier one (all but the
   first occurrence of each). An n-gram is a rolling polynomial hash modulo 2^64 of its
   code points (an odd 64-bit base), counted in an open-addressing table of twice as many
   slots as n-grams. */
INLINE Py_ssize_t
compact_kind(int kind, const void *data, Py_ssize_t length, uint32_t *out)
{
    Py_ssize_t written = 0;
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (!is_space(c))
            out[written++] = c;
    }
    return written;
}

static PyObject *
repeated_ngrams(PyObject *self, PyObject *args)
{
    PyObject *text;
    int n;
    if (!PyArg_ParseTuple(args, "Ui", &text, &n))
        return NULL;
    if (n < 1 || n > 64) {
        PyErr_SetString(PyExc_ValueError, "repeated_ngrams: n from 1 to 64");
        return NULL;
    }
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    uint32_t *chars = PyMem_Malloc(sizeof(uint32_t) * ((size_t)length + 1));
    if (chars == NULL)
        return PyErr_NoMemory();
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t count = 0;
    FOR_KIND(kind, count = compact_kind(K, data, length, chars));
    if (count < n) {
        PyMem_Free(chars);
        return Py_BuildValue("(nn)", (Py_ssize_t)0, (Py_ssize_t)0);
    }
    Py_ssize_t grams = count - n + 1;
    size_t size = 2;
    while (size < 2 * (size_t)grams)
        size *= 2;
    uint64_t *slots = PyMem_Calloc(size, sizeof(uint64_t));
    if (slots == NULL) {
        PyMem_Free(chars);
        return PyErr_NoMemory();
    }
    const uint64_t base = UINT64_C(0x9E3779B97F4A7C15), mask = size - 1;
    uint64_t top = 1, hash = 0; /* top: base^(n-1), the weight of the character leaving the window */
    for (int k = 0; k < n; k++) {
        hash = hash * base + chars[k];
        if (k)
            top *= base;
    }
    Py_ssize_t repeats = 0;
    for (Py_ssize_t i = 0;; i++) {
        uint64_t key = hash ? hash : 1; /* 0 marks an empty slot */
        size_t slot = (size_t)((key * UINT64_C(0xBF58476D1CE4E5B9)) >> 1) & mask;
        while (slots[slot] && slots[slot] != key)
            slot = (slot + 1) & mask;
        if (slots[slot])
            repeats++;
        else
            slots[slot] = key;
        if (i + 1 >= grams)
            break;
        hash = (hash - chars[i] * top) * base + chars[i + n];
    }
    PyMem_Free(slots);
    PyMem_Free(chars);
    return Py_BuildValue("(nn)", grams, repeats);
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS,
     "scan(text, table) -> (class bits seen, characters not white space, Chinese, traditional-only, "
     "decorative, a run of 4 of one punctuation mark, a line of only symbols, common Chinese, Chinese punctuation, "
     "kana, hangul)"},
    {"normalise_whitespace", normalise_whitespace, METH_O,
     "Every kind of space to one ASCII space, lines stripped, at most one blank line in a row, "
     "the text stripped; a normal text is returned as is."},
    {"repair_unicode", repair_unicode, METH_VARARGS,
     "repair_unicode(text, table, radical_base, radicals) -> (text without invisible characters, radicals "
     "and full-width letters and digits mapped, white space normalised; invisible, radicals, full-width); "
     "the text itself when nothing changes"},
    {"remove_symbol_runs", remove_symbol_runs, METH_VARARGS,
     "remove_symbol_runs(text, table, punctuation, decorative) -> the text with runs of 4+ of one "
     "punctuation mark collapsed (if punctuation) and then runs of 3+ decorative symbols removed (if decorative)"},
    {"drop_symbol_lines", drop_symbol_lines, METH_VARARGS,
     "drop_symbol_lines(text, cleaned, table) -> the lines of cleaned but those not blank in text and "
     "only symbols, punctuation and spaces in cleaned, joined by line feeds"},
    {"drop_repeated_lines", drop_repeated_lines, METH_VARARGS,
     "drop_repeated_lines(text, min_chars) -> (the lines but later copies of one of min_chars or more characters, "
     "joined by line feeds; copies dropped; their characters); the text itself when none is dropped"},
    {"repeated_ngrams", repeated_ngrams, METH_VARARGS,
     "repeated_ngrams(text, n) -> (character n-grams of the text without white space, how many of them repeat "
     "an earlier one)"},
    {"ngram_bound", ngram_bound, METH_VARARGS,
     "ngram_bound(text, n) -> (characters not white space, the largest count of n-grams hashed into one of "
     "4,096 bins)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_textscan", "The clean stage's passes over every character (filters/_textscan.c).", -1,
    methods,
};

PyMODINIT_FUNC
PyInit__textscan(void)
{
    return PyModule_Create(&module);
}
