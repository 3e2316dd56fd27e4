/* Text Pixie shows: the one escaping rule for control characters, shared by
 * the log (log.c) and everything the Lua side prints (lua/pixie/out.lua,
 * through pixie.term.escape). A control character is written as \xNN (two
 * uppercase hex digits), so text from a tool or a user cannot carry
 * terminal escapes or forge lines. Backslashes are not escaped: the form is
 * for reading, not for decoding back. */
#ifndef PIXIE_TERMTEXT_H
#define PIXIE_TERMTEXT_H

#include "buf.h"

#include <stddef.h>

/* Which bytes termtext_escape writes as \xNN. */
enum termtext_set {
    /* 0x00-0x1F and 0x7F except tab and LF: text for a terminal, which
     * keeps its layout but obeys no escape sequence */
    TERMTEXT_CONTROLS_BUT_LAYOUT,
    /* 0x00-0x1F and 0x7F: text made one line (quoting a user's string) */
    TERMTEXT_CONTROLS,
    /* CR and LF only: a line for a line-oriented file, other bytes kept */
    TERMTEXT_LINE_BREAKS,
};

/* Appends s[0..n) to out with every byte of `set` written as \xNN and all
 * other bytes as they are. Returns 0 or out's error (-ENOMEM, -EOVERFLOW;
 * see buf.h). */
int termtext_escape(const char *s, size_t n, enum termtext_set set, struct buf *out);

#endif
