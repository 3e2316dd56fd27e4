/* The rules for names inside a Pixie .zip, shared by inspection (what an
 * archive may contain) and packing (what we write), so what we export
 * always passes our own import.
 *
 * Folding (zip_name_key and the .env/.git/.venv checks): ASCII and the
 * Latin-1, Latin Extended-A, Greek and Cyrillic letters are lower-cased
 * (plus KELVIN SIGN -> k, LONG S -> s, ANGSTROM SIGN -> a-ring, fullwidth
 * A-Z); the code points HFS+ ignores (U+200B-U+200F, U+202A-U+202E,
 * U+206A-U+206F, U+FEFF; git's list plus ZERO WIDTH SPACE) are dropped;
 * trailing dots and spaces of a component are dropped (NTFS ignores them).
 * Unicode normalisation (NFC) is NOT applied: two canonically equivalent
 * spellings are distinct files on Linux, and extraction creates every file
 * with O_EXCL, so a filesystem that folds them makes extraction fail
 * instead of overwriting. */
#ifndef PIXIE_ZIP_NAME_H
#define PIXIE_ZIP_NAME_H

#include "buf.h"
#include "zip_inspect.h"

#include <stddef.h>

/* Checks the raw entry name name[0..len) (a trailing '/' marks a folder
 * and is allowed once). `utf8` is 1 when the archive flags the name as
 * UTF-8 (general-purpose bit 11); otherwise only printable ASCII passes.
 * Returns ZIP_REASON_OK or the first rule broken: NAME_CONTROL,
 * NAME_ENCODING, NAME_BACKSLASH, NAME_COLON, NAME_TOO_LONG, NAME_ABSOLUTE,
 * NAME_COMPONENT, NAME_TRAVERSAL, NAME_TOO_DEEP, DOTENV, GIT, VENV. */
enum zip_reason zip_name_check(const char *name, size_t len, int utf8);

/* What the refusal r of zip_name_check means, as a phrase for messages
 * ("'..' component (path traversal)"). Never NULL. */
const char *zip_name_phrase(enum zip_reason r);

/* Appends the folded key of name[0..len) (no trailing '/'; a name that
 * passed zip_name_check) to out: components folded as described above,
 * joined by '/'. Returns 0 or out's error. */
int zip_name_key(const char *name, size_t len, struct buf *out);

/* Writes name[0..len) to out[0..size) NUL-terminated, safe to show on a
 * terminal: control bytes, DEL, bytes that are not UTF-8, C1 controls and
 * invisible or direction-changing code points become \xNN or \u{XXXX}, a
 * backslash becomes "\\". A longer result is cut (on a character boundary)
 * and ends with "...". size must be at least 4. */
void zip_name_escape(const char *name, size_t len, char *out, size_t size);

#endif
