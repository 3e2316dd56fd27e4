/* The forms of a secret value the masker registers (SPEC §3.4): the value
 * itself and the encodings a tool is likely to print it in. Internal to the
 * core: used by mask.c, exposed for tests. */
#ifndef PIXIE_MASK_FORMS_H
#define PIXIE_MASK_FORMS_H

#include <stddef.h>

/* Raw values shorter than this are not registered. */
#define MASK_MIN_VALUE 4
/* Derived forms shorter than this are not registered. */
#define MASK_MIN_DERIVED 8

/* Receives one form; returns 0 to go on or a negative errno to stop. */
typedef int (*mask_form_fn)(void *ctx, const char *form, size_t len);

/* Calls emit for the value (when len >= MASK_MIN_VALUE) and for each derived
 * form at least MASK_MIN_DERIVED bytes long (duplicates possible). The forms
 * are listed in one table, FORMS in mask_forms.c:
 *  - URL-encoded as Python's urllib.parse.quote(v, safe=''), quote(v) (safe
 *    '/') and quote_plus(v) (safe '', space -> '+'), over the UTF-8 bytes;
 *  - JSON-escaped (the text between the quotes) as Python's json.dumps with
 *    ensure_ascii=True (non-ASCII and DEL as \uXXXX; only when v is valid
 *    UTF-8) and ensure_ascii=False, as Pixie's own encoder (control bytes
 *    and DEL escaped, non-ASCII kept) and as lua-cjson (that, and '/' as
 *    '\/');
 *  - double JSON escaping: each of those styles applied to each style's
 *    escaped text (json.dumps of a text that holds json.dumps(v));
 *  - base64, standard and URL-safe alphabets, at the three byte alignments:
 *    the characters of base64(p + v) that depend on v's bytes only, for a
 *    prefix p of 0, 1 or 2 bytes (so v is found inside any base64 text);
 *  - base64(v) wrapped at 76 columns (base64.encodebytes, MIME) and at 64
 *    (PEM) when longer than one line: each line and the LF-joined whole;
 *  - for a value with line breaks: each line (CR, LF or CRLF separated), as
 *    is and with surrounding blanks trimmed, and the value with LF turned
 *    into CRLF (what a terminal prints).
 * Returns 0, -ENOMEM, or the first negative value emit returned. */
int mask_forms(const char *v, size_t len, mask_form_fn emit, void *ctx);

#endif
