// Rules for free text that every schema shares.

/** No control characters (NUL above all, which Postgres text cannot hold). */
export const NO_CONTROL_CHARACTERS = /^\P{Cc}*$/u;
