/* Secret masking (SPEC §3.4): a process-wide registry of secret values and
 * their derived forms (see mask_forms.h), matched all at once by an
 * Aho–Corasick automaton. Every occurrence of every registered pattern is
 * covered; each maximal run of covered bytes (overlapping or adjacent
 * matches) becomes one "***".
 *
 * Threads: every function may be called from any thread. The automaton is
 * rebuilt lazily on the first scrub after a change, then shared read-only
 * through a reference-counted snapshot; scrubbing threads never block each
 * other. A mask_stream must be used by one thread at a time. */
#ifndef PIXIE_MASK_H
#define PIXIE_MASK_H

#include <stddef.h>

struct buf;

/* The replacement text of a masked run. */
#define MASK_TOKEN "***"

/* Registers value[0, len) (binary allowed) and its derived forms; any scrub
 * that starts after this returns masks it. Returns 1 when the value is
 * registered (new or already known), 0 when it is shorter than 4 bytes and
 * was ignored, -ENOMEM. Nothing is ever unregistered (but mask_reset). */
int mask_add(const char *value, size_t len);

/* Appends a masked copy of in[0, len) to the caller's buffer `out`.
 * Returns 0, or -ENOMEM (or out's earlier error) with out as it was. */
int mask_scrub_to(struct buf *out, const char *in, size_t len);

/* Number of distinct registered patterns (values and derived forms). */
size_t mask_count(void);

/* Tests only: forgets every registered value. */
void mask_reset(void);

/* Streaming masker for one byte stream (a child's stdout, say).
 *
 * Release rule: a byte is released only once it can no longer be part of a
 * secret, i.e. when later data shows that it does not begin a match, or at
 * the end of the stream. There is no release on a timer: a caller must not
 * flush a stream that may still get data (a secret written in two pieces
 * with a pause between them would leak its first piece, and the second
 * would be matched as a new stream). Held-back bytes stay held however long
 * the writer pauses; they are at most the longest pattern's length.
 *
 * End of stream (mask_stream_flush_to): the held bytes are the longest tail of
 * the input that is the start of some registered pattern, an unfinished
 * secret. When that tail is at least 4 bytes long (the shortest value
 * mask_add keeps) it is masked as if it were a match; a shorter one is
 * released as it is. So the whole output of a stream equals mask_scrub_to of
 * the whole input, except that such a tail at the very end is covered too
 * (joining the run of a match it touches: still one "***"). */
struct mask_stream;

/* Returns a new stream (free with mask_stream_free) or NULL on ENOMEM. */
struct mask_stream *mask_stream_new(void);

/* Feeds data[0, len) and appends to the caller's buffer `out` the bytes
 * now safe to emit, masked (possibly none). Only the bytes that could still
 * begin a match (the longest suffix that is a prefix of some pattern) are
 * held back, so a secret split across feeds is still masked, whatever time
 * passes between them. Returns 0, or -ENOMEM (or out's earlier error) with
 * out as it was: nothing is emitted; the data may have been kept, and is
 * then emitted, masked, by a later call. */
int mask_stream_feed_to(struct mask_stream *s, const char *data, size_t len, struct buf *out);

/* End of stream: appends everything held back to `out`, masked, with the
 * unfinished tail rule above, as mask_stream_feed_to does. Call it only
 * when the stream has ended (the pipe closed, the text is complete), never
 * on idle. Feeds after it are matched as a new stream (nothing continues
 * across it). Returns 0, or -ENOMEM (or out's earlier error) with out as it
 * was: nothing is emitted, and a later flush tries again. */
int mask_stream_flush_to(struct mask_stream *s, struct buf *out);

/* Number of bytes held back. */
size_t mask_stream_pending(const struct mask_stream *s);

/* Frees the stream (the held bytes are discarded). NULL is allowed. */
void mask_stream_free(struct mask_stream *s);

#endif
