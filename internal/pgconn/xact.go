package pgconn

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// What became of a transaction, in pg_xact_status's words.
const (
	XactCommitted  = "committed"
	XactAborted    = "aborted"
	XactInProgress = "in progress"
)

// xid32 is 2^32: a full transaction id is epoch * xid32 + xid.
const xid32 = "4294967296"

// fullXID turns the 32-bit xid x of pg_stat_activity.backend_xid into a
// full one: the number congruent to x modulo 2^32 nearest to n, the xmax of
// the monitor's own snapshot (within 2^31 of every xid a session holds, as
// the server's own FullXidRelativeTo reckons); NULL when that is below 3,
// no xid of a session.
const fullXID = `(SELECT CASE WHEN f >= 3 THEN f END FROM (SELECT n + CASE
	WHEN x - mod(n, ` + xid32 + `) > 2147483648 THEN x - mod(n, ` + xid32 + `) - ` + xid32 + `
	WHEN x - mod(n, ` + xid32 + `) < -2147483648 THEN x - mod(n, ` + xid32 + `) + ` + xid32 + `
	ELSE x - mod(n, ` + xid32 + `) END AS f) AS relative)`

// xactStatusQuery asks pg_xact_status (PostgreSQL 13 and later) about the
// xids in $1; the next xid comes from the monitor's own snapshot, which
// assigns it no xid.
const xactStatusQuery = `SELECT x, pg_catalog.pg_xact_status((` + fullXID + `)::text::pg_catalog.xid8)
FROM unnest($1::bigint[]) AS x,
	(SELECT pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot())::text::numeric AS n) AS next`

// txidStatusQuery is the same with txid_status (PostgreSQL 10 to 12).
const txidStatusQuery = `SELECT x, pg_catalog.txid_status((` + fullXID + `)::bigint)
FROM unnest($1::bigint[]) AS x,
	(SELECT pg_catalog.txid_snapshot_xmax(pg_catalog.txid_current_snapshot())::numeric AS n) AS next`

// XactStatus asks the server what became of the transactions xids (32-bit
// ids as pg_stat_activity's backend_xid shows them, less than 2^31
// transactions old): [XactCommitted], [XactAborted] or [XactInProgress]
// (a prepared transaction, or a session still running). An xid the server
// no longer remembers (older than its commit log) is absent from the map.
// An xid that was never assigned is an error of the server's. It uses pg_xact_status on PostgreSQL 13 and
// later, txid_status on 10 to 12; older servers cannot say (an error).
func (m *Monitor) XactStatus(ctx context.Context, xids []uint32) (map[uint32]string, error) {
	if len(xids) == 0 {
		return nil, nil
	}
	if m.version == 0 {
		rows, err := m.query(ctx, `SELECT pg_catalog.current_setting('server_version_num')::int`, 1)
		if err != nil || len(rows) != 1 {
			return nil, fmt.Errorf("server version on %s: %w", m.target, err)
		}
		m.version = int(asInt(rows[0][0]))
	}
	stmt := xactStatusQuery
	switch {
	case m.version < 100000:
		return nil, fmt.Errorf("transaction status on %s: PostgreSQL %d has neither pg_xact_status nor txid_status", m.target, m.version)
	case m.version < 130000:
		stmt = txidStatusQuery
	}
	rows, err := m.query(ctx, stmt, 2, xidArray(xids))
	if err != nil {
		return nil, fmt.Errorf("transaction status on %s: %w", m.target, err)
	}
	out := make(map[uint32]string, len(rows))
	for _, r := range rows {
		if status := asString(r[1]); status != "" {
			out[uint32(asInt(r[0]))] = status
		}
	}
	return out, nil
}

// xidArray is a PostgreSQL array literal of xids: {1,2,3}.
func xidArray(xids []uint32) string {
	parts := make([]string, len(xids))
	for i, x := range xids {
		parts[i] = strconv.FormatUint(uint64(x), 10)
	}
	return "{" + strings.Join(parts, ",") + "}"
}
