// The bounds that keep the classifier's cost linear in a capped input,
// whatever the input holds (DESIGN.md: bounded for any input). The normaliser
// and the percent-decoder both size their work by them.

/**
 * Characters of the request target that are examined; the rest is ignored.
 * Probes carry their signal early (the longest line of the development corpus
 * has 234 characters); past this point is padding, which only costs time.
 */
export const MAX_EXAMINED = 512
/** Percent-decoding rounds: `%25252e` needs three. */
export const MAX_DECODE_ROUNDS = 4
/** Path segments kept; no probe needs more, and `/a/a/a/...` stays cheap. */
export const MAX_SEGMENTS = 64
