// The bounds that keep the classifier's cost linear in a capped input,
// whatever the input holds (DESIGN.md: bounded for any input). The normaliser
// and the percent-decoder both size their work by them.
//
// Two kinds of bound. MAX_READ caps the raw characters read at all: padding
// that a server collapses (`//`, `/./`, `seg/..`, `%2f%2f`, `&&`) is read and
// collapsed for free up to it, so it cannot push a probe out of sight. The
// others cap what is examined once collapsed: the normalised path, and each
// query parameter's name and value, so that one long legitimate value (a
// SAMLRequest, a tracking token) neither costs much nor hides the parameters
// after it.
//
// What lies past a bound is not seen; a target cut off there is classified by
// what was examined, never for being long (legitimate URLs carry long
// queries): a cut path is examined as its whole segments up to the cut,
// without the end anchor or the file-name patterns (the file name was not
// seen), and a cut query parameter as its first characters.

/** Raw characters of the request target read (path and query together); the rest is ignored. */
export const MAX_READ = 8192
/**
 * Characters of the normalised path examined (whole segments; a segment that
 * would cross the bound is left out with all after it). Probes carry their
 * signal early (the longest line of the development corpus has 234
 * characters); past this point is padding, which only costs time.
 */
export const MAX_EXAMINED = 512
/** Percent-decoding rounds: `%25252e` needs three. */
export const MAX_DECODE_ROUNDS = 4
/** Path segments examined, once collapsed; no probe needs more, and `/a/a/a/...` stays cheap. */
export const MAX_SEGMENTS = 64
/** Raw characters of a query parameter's name, and of its value, examined: their first ones. */
export const MAX_PARAM_EXAMINED = 512
/** Non-empty query parameters examined: the first ones. */
export const MAX_PARAMS = 256
/** Raw characters of names and values examined over the whole query. */
export const MAX_QUERY_EXAMINED = 4096
