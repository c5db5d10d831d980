/**
 * Where the observations of a run or a break are filed (recon_break_observation.cycle_key: the cycle,
 * '-infinity' without one), as exact text for a later statement to name as `$n::timestamptz`, so that
 * only that partition is planned and read. JSON's text of a timestamptz is ISO 8601 with a numeric offset
 * whatever the session's DateStyle and time zone (`::text` in the SQL style writes a zone abbreviation,
 * which PostgreSQL 15 can read back as another zone).
 */
export const cycleKeyText = (cycleColumn: string): string => `to_json(coalesce(${cycleColumn}, '-infinity')) #>> '{}'`;
