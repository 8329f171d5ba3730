"""Agency- and contractor-level red flags of the live build, as sentences with their reasons."""
from catalog.datastore import tables

from . import access, flags

RULE = {r["id"]: r for r in flags.RULES}


def describe(settings, db, kind, entity_id, lang="th"):
    """Reasons an agency or contractor is flagged, one sentence per year or run (public sources only)."""
    folder, manifest, visible = access.live(settings, db)
    if not visible:
        return []
    cur = tables.reader(settings)
    out = []
    try:
        if kind == "agency":
            rows = cur.execute(
                f"SELECT fiscal_year, year_end_rush, yearend_share, winner_concentration, hhi, top1_share "
                f"FROM read_parquet('{folder / 'agency_flags.parquet'}') WHERE agency_id = ? "
                f"AND (year_end_rush OR winner_concentration) ORDER BY fiscal_year", [int(entity_id)]).fetchall()
            for year, rush, share, conc, hhi, top1 in rows:
                if rush:
                    out.append(f"{year}: {RULE['year_end_rush'][lang]} — {share:.0%} ({RULE['year_end_rush']['rule_' + lang]})")
                if conc:
                    out.append(f"{year}: {RULE['winner_concentration'][lang]} — HHI {hhi:.2f}, top-1 {top1:.0%}")
        else:
            rows = cur.execute(
                f"SELECT d.first_year, d.last_year, d.years, a.name FROM read_parquet('{folder / 'contractor_flags.parquet'}') d "
                f"JOIN read_parquet('{folder / 'd_agency.parquet'}') a ON a.id = d.agency_id WHERE d.contractor_id = ? "
                f"ORDER BY d.first_year", [int(entity_id)]).fetchall()
            for first, last, years, agency in rows:
                out.append(f"{first}–{last}: {RULE['single_winner_dominance'][lang]} — {agency} ({years})")
    finally:
        cur.close()
    return out
