/* The .env dialect python-dotenv 1.2.x reads (SPEC §3.1): a parser that
 * mirrors python-dotenv's parser.py binding by binding, its ${NAME} /
 * ${NAME:-default} interpolation (main.py resolve_variables), a quoting
 * writer whose output python-dotenv reads back exactly, and rewriting of
 * one key keeping every other byte. Pure functions on memory buffers: no
 * I/O, no printing. One header for four files, one concern each:
 * dotenv_chars.c (what a character is), dotenv_parse.c (the reader),
 * dotenv_interp.c (interpolation), dotenv_write.c (quoting, rewriting).
 * Errors are negative errno values, each with one meaning:
 *   -EILSEQ  text or value is not valid UTF-8 (and nothing else)
 *   -EINVAL  value holds a NUL byte, or a key is not ^[A-Za-z_][A-Za-z0-9_]*$
 *   -EDOM    value cannot be written so python-dotenv reads it back: it
 *            ends with a backslash (so cannot be quoted, see dotenv_quote)
 *            and cannot be written unquoted either (it holds CR or LF, has
 *            leading or trailing whitespace, whitespace before '#', or
 *            starts with a quote); the value is valid UTF-8, so this is
 *            never reported as -EILSEQ
 *   -EBADMSG a rewrite would change how python-dotenv reads the file
 *            beyond the one key (an unterminated quote earlier in the file
 *            would swallow the new line); nothing is produced
 *   -ENOMEM  out of memory
 * Differences from python-dotenv 1.2.2, on purpose: a leading UTF-8 BOM is
 * stripped (python-dotenv main does so, 1.2.2 makes it part of the first
 * key); warnings name the line of the malformed binding's first
 * non-blank character (python-dotenv names the line where the preceding
 * blank run starts). */
#ifndef PIXIE_DOTENV_H
#define PIXIE_DOTENV_H

#include <stddef.h>

struct buf;

/* One KEY[=VALUE] binding. key/value are malloc'd and NUL-terminated (a
 * key or value may itself contain NUL bytes: use the lengths). value is
 * NULL when the binding has no '=' (python-dotenv's None). [start, end) is
 * the binding's byte span in the original text: from the start of the line
 * holding its first character to just after its end of line (or the end of
 * the text), so removing or replacing the span touches no other binding. */
typedef struct {
    char *key;
    size_t key_len;
    char *value;
    size_t value_len;
    size_t start;
    size_t end;
    int line;
} dotenv_binding;

/* A parsed file: bindings in file order (duplicates kept; the last one
 * wins), and the 1-based line numbers of malformed bindings that were
 * skipped. */
typedef struct {
    dotenv_binding *bindings;
    size_t count;
    int *warning_lines;
    size_t warning_count;
    size_t bom_len; /* 3 when the text began with a UTF-8 BOM, else 0 */
} dotenv_doc;

/* One variable of the environment used for interpolation. */
typedef struct {
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
} dotenv_pair;

/* Parses `len` bytes of `text` (CR and CRLF read as LF, a leading BOM
 * skipped). Returns 0 and fills *doc (free with dotenv_doc_free), or
 * -EILSEQ when text is not valid UTF-8, or -ENOMEM; on failure *doc is
 * left empty and needs no freeing (freeing it is harmless). */
int dotenv_parse(const char *text, size_t len, dotenv_doc *doc);

/* Frees everything *doc owns and empties it. Idempotent. */
void dotenv_doc_free(dotenv_doc *doc);

/* The last binding whose key equals key[0..key_len), or NULL. */
const dotenv_binding *dotenv_lookup(const dotenv_doc *doc, const char *key, size_t key_len);

/* Applies python-dotenv's interpolation to every value of doc in file
 * order, in place: ${NAME} and ${NAME:-default} (no nesting, no escape)
 * resolve against the values bound earlier in the file (already
 * resolved) and `env`; with `override` (dotenv_values, load_dotenv(override=
 * True)) earlier file values win over env, without it (load_dotenv's
 * default) env wins. A name bound without value resolves to "". Returns 0,
 * -E2BIG when the values made by interpolation would hold more than
 * DOTENV_EXPANDED_MAX bytes in all (references of references grow
 * exponentially: A=${X}${X}, B=${A}${A}, ...), or -ENOMEM (doc then
 * partially interpolated but consistent). */
int dotenv_interpolate(dotenv_doc *doc, const dotenv_pair *env, size_t env_count, int override);

/* The most bytes dotenv_interpolate lets the values it expands hold. */
#define DOTENV_EXPANDED_MAX (8u * 1024u * 1024u)

/* 1 when key[0..len) matches ^[A-Za-z_][A-Za-z0-9_]*$ (the keys Pixie
 * writes), else 0. */
int dotenv_key_valid(const char *key, size_t len);

/* 1 when s[0..len) is valid UTF-8 (no overlongs, surrogates or code points
 * above U+10FFFF, exactly what Python's utf-8 codec accepts), else 0. */
int dotenv_utf8_valid(const char *s, size_t len);

/* Checks a value for writing: 0, -EINVAL (holds a NUL byte), -EILSEQ
 * (not valid UTF-8) or -EDOM (see above). */
int dotenv_check_value(const char *value, size_t len);

/* Appends value to `out` double-quoted: \ -> \\, " -> \", CR -> \r, LF -> \n,
 * everything else literal. Exception: a value ending in a backslash is
 * written unquoted (python-dotenv's quote regex would read the final \\"
 * as an escaped quote and run on to the next '"' of the file); values for
 * which that is not lossless are refused with -EDOM. Returns 0, the
 * dotenv_check_value error, or out's error (-ENOMEM, -EOVERFLOW; see
 * buf.h); on failure out keeps its old length (its error sticks when
 * growing it failed). *interp_warning (may be NULL) is set to 1 when the
 * value contains "${", which python-dotenv's load_dotenv would expand. */
int dotenv_quote(const char *value, size_t len, struct buf *out, int *interp_warning);

/* Appends to `out` the new text for `text` with `key` bound to `value`:
 * the last binding of key is replaced in place by KEY="quoted"\n and
 * earlier bindings of key are removed (so exactly one remains); when key is
 * absent, KEY="quoted"\n is appended, after a "\n" when the text does not
 * end with a newline. A leading BOM is dropped; every other byte is kept.
 * Returns 0; -EINVAL for an invalid key or a NUL in value, -EILSEQ when
 * value or text is not valid UTF-8, -EDOM (see dotenv_quote), -EBADMSG (the
 * result would not read back as every other binding unchanged plus key =
 * value), or out's error (-ENOMEM, -EOVERFLOW); on failure out keeps its
 * old length, as for dotenv_quote. *interp_warning (may be NULL) as for
 * dotenv_quote. `text` must not lie inside out's bytes (appending may move
 * them). */
int dotenv_set(const char *text, size_t len, const char *key, const char *value, size_t value_len,
               struct buf *out, int *interp_warning);

/* Appends to `out` the new text for `text` without any binding of `key`
 * (each removed with its whole lines); a leading BOM is dropped. *removed
 * (may be NULL) is the number of bindings removed (0 on failure). Returns
 * 0, -EINVAL for an invalid key, -EILSEQ for text that is not valid UTF-8,
 * -EBADMSG (as for dotenv_set) or out's error; on failure out keeps its old
 * length, as for dotenv_quote. `text` as for dotenv_set. */
int dotenv_unset(const char *text, size_t len, const char *key, struct buf *out, int *removed);

#endif
