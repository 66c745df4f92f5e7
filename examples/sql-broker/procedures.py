"""Stored procedures that place, modify and cancel orders in the example broker's tables.

Many brokers do not let anything outside their own systems write to the order tables directly:
writes go through stored procedures that check what the broker checks. This module creates
three such procedures over ``broker_db.py``'s tables, and ``gateway-procedures.yaml`` routes
TradingView's order commands through them (one ``CALL`` per command):

``tv_place(acct, sym, side, otype, qty, lmt_px, stp_px, tif, client_ref, now_ms)``
    Inserts a working order (status ``N``) in the broker's codes and answers one row
    ``(out_ord_id, out_error)``. Idempotent per client reference: a placement whose
    ``client_ref`` the account already used answers that order's id and inserts nothing. It
    says no with an error row, inserting nothing, when the order's value exceeds the account's
    buying power (``balance`` x :data:`LEVERAGE`); the value is ``qty`` x the limit price, or
    x the ``quotes`` table's ask (buys) or bid (sells) for market and stop orders.
``tv_modify(acct, ord_id, qty, lmt_px, stp_px, tif, now_ms)``
    New quantity, prices and duration of a working (``N``) order of the account.
``tv_cancel(acct, ord_id, now_ms)``
    Cancels a working or partly filled (``N``/``P``) order of the account.

``tv_modify`` and ``tv_cancel`` raise when the order is not working (filled meanwhile, say):
PostgreSQL ``RAISE EXCEPTION`` (SQLSTATE ``P0001``), MariaDB/MySQL ``SIGNAL SQLSTATE '45000'``,
with the message ``order 7 is not working``. The gateway answers both ways of saying no as
"The order was rejected: <reason>". None of the procedures commits: the gateway runs each
command in one transaction of its own, and a refusal rolls all of it back.

PostgreSQL (11 or later) and MariaDB/MySQL have stored procedures, each in its own language, so
the text below is written once per dialect; SQLite has none. As a script::

    python examples/sql-broker/procedures.py [URL]

creates (or re-creates) the procedures at ``URL`` (default: the ``BROKER_DB_URL`` environment
variable), whose tables ``broker_db.py`` made.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import sqlalchemy as sa

LEVERAGE = 50
"""Buying power per unit of balance. The seeded AC-10001 (about 100,000 USD) can buy 4,000,000
EURUSD at 1.07 (4.28 million) but not 5,000,000 (5.35 million)."""

PROCEDURES = ("tv_place", "tv_modify", "tv_cancel")
"""The procedures this module creates, in the broker's database."""

# The procedures' text never holds a '%': psycopg reads '%' as a placeholder marker once any
# parameters are given, so messages are built by concatenation (not RAISE's '%' or format()).

_POSTGRESQL_PLACE = f"""
CREATE OR REPLACE PROCEDURE tv_place(
    p_acct varchar, p_sym varchar, p_side char, p_otype char, p_qty numeric, p_lmt numeric,
    p_stp numeric, p_tif varchar, p_ref varchar, p_now bigint,
    -- INOUT (with defaults, so CALL passes only the ten inputs): CALL answers their values as
    -- one row. PostgreSQL 14 has OUT parameters for procedures too; INOUT works from 11.
    INOUT out_ord_id integer DEFAULT NULL, INOUT out_error varchar DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
    v_buying_power numeric;
    v_price numeric;
BEGIN
    -- A retried placement answers the order its first attempt made.
    SELECT ord_id INTO out_ord_id FROM orders WHERE acct_no = p_acct AND client_ref = p_ref;
    IF out_ord_id IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT balance * {LEVERAGE} INTO v_buying_power
    FROM trading_accounts WHERE acct_no = p_acct AND status = 'A';
    IF v_buying_power IS NULL THEN
        out_error := 'account ' || p_acct || ' is not active';
        RETURN;
    END IF;
    IF p_otype IN ('L', 'T') THEN
        v_price := p_lmt;
    ELSE  -- market and stop orders: valued where they would fill now
        SELECT CASE WHEN p_side = 'B' THEN ask ELSE bid END INTO v_price
        FROM quotes WHERE sym = p_sym;
    END IF;
    IF v_price IS NULL THEN
        out_error := 'no price for ' || p_sym;
        RETURN;
    END IF;
    IF p_qty * v_price > v_buying_power THEN
        -- The same text as MariaDB's FORMAT(x, 2): 1,234,567.89.
        out_error := 'insufficient funds: the order is worth '
            || to_char(p_qty * v_price, 'FM999,999,999,999,990.00')
            || ', the buying power is ' || to_char(v_buying_power, 'FM999,999,999,999,990.00');
        RETURN;
    END IF;
    -- Two placements racing with one client_ref: the unique (acct_no, client_ref) refuses the
    -- second, and the gateway answers it as refused by the broker's system.
    INSERT INTO orders (acct_no, sym, side, otype, qty, lmt_px, stp_px, tif, st, filled_qty,
                        client_ref, created_at, updated_at)
    VALUES (p_acct, p_sym, p_side, p_otype, p_qty, p_lmt, p_stp, p_tif, 'N', 0,
            p_ref, p_now, p_now)
    RETURNING ord_id INTO out_ord_id;
END
$$
"""  # noqa: S608 - the only value formatted in is LEVERAGE, this module's int

_POSTGRESQL_MODIFY = """
CREATE OR REPLACE PROCEDURE tv_modify(
    p_acct varchar, p_ord bigint, p_qty numeric, p_lmt numeric, p_stp numeric, p_tif varchar,
    p_now bigint)
LANGUAGE plpgsql AS $$
BEGIN
    -- FOUND counts the rows the WHERE matched; an order the back office filled meanwhile no
    -- longer matches (the UPDATE waits for its lock, then re-reads the row).
    UPDATE orders SET qty = p_qty, lmt_px = p_lmt, stp_px = p_stp, tif = p_tif,
           updated_at = p_now
    WHERE ord_id = p_ord AND acct_no = p_acct AND st = 'N';
    IF NOT FOUND THEN
        -- P0001 (raise_exception) is how the gateway tells a refusal from a failure.
        RAISE EXCEPTION USING ERRCODE = 'P0001',
            MESSAGE = 'order ' || p_ord || ' is not working';
    END IF;
END
$$
"""

_POSTGRESQL_CANCEL = """
CREATE OR REPLACE PROCEDURE tv_cancel(p_acct varchar, p_ord bigint, p_now bigint)
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE orders SET st = 'C', updated_at = p_now
    WHERE ord_id = p_ord AND acct_no = p_acct AND st IN ('N', 'P');
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'P0001',
            MESSAGE = 'order ' || p_ord || ' is not working';
    END IF;
END
$$
"""

_MARIADB_PLACE = f"""
CREATE PROCEDURE tv_place(
    IN p_acct VARCHAR(16), IN p_sym VARCHAR(16), IN p_side CHAR(1), IN p_otype CHAR(1),
    IN p_qty DECIMAL(18,8), IN p_lmt DECIMAL(18,8), IN p_stp DECIMAL(18,8), IN p_tif VARCHAR(3),
    IN p_ref VARCHAR(64), IN p_now BIGINT)
BEGIN
    DECLARE v_ord_id INT DEFAULT NULL;
    DECLARE v_error VARCHAR(255) DEFAULT NULL;
    DECLARE v_buying_power DECIMAL(30,8) DEFAULT NULL;
    DECLARE v_price DECIMAL(18,8) DEFAULT NULL;
    -- Each refusal LEAVEs this block, so that the one SELECT at the end answers every case.
    place: BEGIN
        -- Scalar subqueries rather than SELECT ... INTO: no "No data" warning when none matches.
        SET v_ord_id = (SELECT ord_id FROM orders WHERE acct_no = p_acct AND client_ref = p_ref);
        IF v_ord_id IS NOT NULL THEN
            LEAVE place;
        END IF;
        SET v_buying_power = (SELECT balance * {LEVERAGE} FROM trading_accounts
                              WHERE acct_no = p_acct AND status = 'A');
        IF v_buying_power IS NULL THEN
            SET v_error = CONCAT('account ', p_acct, ' is not active');
            LEAVE place;
        END IF;
        IF p_otype IN ('L', 'T') THEN
            SET v_price = p_lmt;
        ELSE
            SET v_price = (SELECT CASE WHEN p_side = 'B' THEN ask ELSE bid END FROM quotes
                           WHERE sym = p_sym);
        END IF;
        IF v_price IS NULL THEN
            SET v_error = CONCAT('no price for ', p_sym);
            LEAVE place;
        END IF;
        IF p_qty * v_price > v_buying_power THEN
            SET v_error = CONCAT('insufficient funds: the order is worth ',
                                 FORMAT(p_qty * v_price, 2, 'en_US'), ', the buying power is ',
                                 FORMAT(v_buying_power, 2, 'en_US'));
            LEAVE place;
        END IF;
        INSERT INTO orders (acct_no, sym, side, otype, qty, lmt_px, stp_px, tif, st, filled_qty,
                            client_ref, created_at, updated_at)
        VALUES (p_acct, p_sym, p_side, p_otype, p_qty, p_lmt, p_stp, p_tif, 'N', 0,
                p_ref, p_now, p_now);
        SET v_ord_id = LAST_INSERT_ID();
    END place;
    -- A procedure answers rows with a SELECT: the CALL's first result set.
    SELECT v_ord_id AS out_ord_id, v_error AS out_error;
END
"""  # noqa: S608 - the only value formatted in is LEVERAGE, this module's int

# MariaDB's ROW_COUNT() after an UPDATE counts the rows it changed, or those it matched,
# depending on the connection's CLIENT_FOUND_ROWS flag: modify and cancel lock and read the
# order's status first instead, which means the same on every connection.
_MARIADB_MODIFY = """
CREATE PROCEDURE tv_modify(
    IN p_acct VARCHAR(16), IN p_ord BIGINT, IN p_qty DECIMAL(18,8), IN p_lmt DECIMAL(18,8),
    IN p_stp DECIMAL(18,8), IN p_tif VARCHAR(3), IN p_now BIGINT)
BEGIN
    DECLARE v_st CHAR(1) DEFAULT NULL;
    DECLARE v_message VARCHAR(128);
    -- FOR UPDATE: the back office cannot fill the order between this check and the UPDATE.
    SET v_st = (SELECT st FROM orders WHERE ord_id = p_ord AND acct_no = p_acct FOR UPDATE);
    IF v_st IS NULL OR v_st <> 'N' THEN
        -- SIGNAL takes a literal or a variable as its message, not an expression.
        SET v_message = CONCAT('order ', p_ord, ' is not working');
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_message;
    END IF;
    UPDATE orders SET qty = p_qty, lmt_px = p_lmt, stp_px = p_stp, tif = p_tif,
           updated_at = p_now
    WHERE ord_id = p_ord;
END
"""

_MARIADB_CANCEL = """
CREATE PROCEDURE tv_cancel(IN p_acct VARCHAR(16), IN p_ord BIGINT, IN p_now BIGINT)
BEGIN
    DECLARE v_st CHAR(1) DEFAULT NULL;
    DECLARE v_message VARCHAR(128);
    SET v_st = (SELECT st FROM orders WHERE ord_id = p_ord AND acct_no = p_acct FOR UPDATE);
    IF v_st IS NULL OR v_st NOT IN ('N', 'P') THEN
        SET v_message = CONCAT('order ', p_ord, ' is not working');
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_message;
    END IF;
    UPDATE orders SET st = 'C', updated_at = p_now WHERE ord_id = p_ord;
END
"""

SCRIPTS: dict[str, tuple[str, ...]] = {
    # DROP first: CREATE OR REPLACE cannot change a procedure's parameters (PostgreSQL would
    # add an overload beside the old one), and MariaDB before 10.3 has no OR REPLACE.
    "postgresql": (
        *(f"DROP PROCEDURE IF EXISTS {name}" for name in PROCEDURES),
        _POSTGRESQL_PLACE,
        _POSTGRESQL_MODIFY,
        _POSTGRESQL_CANCEL,
    ),
    "mysql": (
        *(f"DROP PROCEDURE IF EXISTS {name}" for name in PROCEDURES),
        _MARIADB_PLACE,
        _MARIADB_MODIFY,
        _MARIADB_CANCEL,
    ),
}
"""The DDL per SQLAlchemy dialect name (``mysql`` is also MariaDB's), run in this order."""
SCRIPTS["mariadb"] = SCRIPTS["mysql"]


class NoProcedures(Exception):  # noqa: N818 - reads as the sentence it raises
    """The database has no stored procedures (SQLite), or none this module knows how to write."""


def create_procedures(url: str) -> None:
    """Create (or re-create) ``tv_place``, ``tv_modify`` and ``tv_cancel`` at ``url``.

    The tables must exist (``broker_db.create``). Raises :class:`NoProcedures` on SQLite, which
    has no stored procedures, and on any other database this module has no text for.
    """
    engine = sa.create_engine(url)
    try:
        name = engine.dialect.name
        script = SCRIPTS.get(name)
        if script is None:
            if name == "sqlite":
                raise NoProcedures(
                    "SQLite has no stored procedures: serve examples/sql-broker/gateway.yaml "
                    "(plain SQL statements) on SQLite, or gateway-procedures.yaml on "
                    "PostgreSQL or MariaDB"
                )
            raise NoProcedures(f"{name}: no stored procedures written for this database")
        with engine.begin() as conn:
            for statement in script:
                # DDL with no values in it: the driver's own SQL, no SQLAlchemy text parsing
                # (PL/pgSQL's ':=' is not a bound parameter).
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Create the procedures at ``argv[0]`` (default ``$BROKER_DB_URL``); the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or (args and args[0] in ("-h", "--help")):
        print(__doc__)
        return 0 if args and args[0] in ("-h", "--help") else 2
    url = args[0] if args else os.environ.get("BROKER_DB_URL", "")
    if not url:
        print("procedures.py: give the database URL, or set BROKER_DB_URL", file=sys.stderr)
        return 2
    try:
        create_procedures(url)
    except NoProcedures as exc:
        print(f"procedures.py: {exc}", file=sys.stderr)
        return 2
    shown = sa.engine.make_url(url).render_as_string(hide_password=True)
    print(f"Created {', '.join(PROCEDURES)} at {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
