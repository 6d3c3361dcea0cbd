"""What a user may see: everything for admin, operator and installer; a grid worker only the
buildings of their grids (`site/building`, or `site/*`)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, true

from cloud.auth import Principal


def visible(p: Principal, site_col, building_col) -> ColumnElement[bool]:
    if p.sees_all():
        return true()
    clauses = []
    for grid in p.grids:
        site, building = grid.split("/", 1)
        clauses.append(site_col == site if building == "*" else and_(site_col == site, building_col == building))
    return or_(*clauses) if clauses else false()
