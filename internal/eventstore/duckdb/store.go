// SPDX-License-Identifier: Apache-2.0

package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	ddb "github.com/duckdb/duckdb-go/v2"

	"github.com/koban-csirt/koban/internal/eventstore"
)

// Options configure a Store.
type Options struct {
	// Columns are the field names that get a typed column in days created
	// from now on (the app passes normalize.CommonFields()).
	Columns []string
	// Canonical maps an alias (an ECS name) to the canonical field name a
	// query should look for; nil means no aliases.
	Canonical func(string) (string, bool)
	// MaxAge: Retain removes days older than this; 0 keeps them.
	MaxAge time.Duration
	// MaxBytes: Retain removes the oldest days while the store is larger;
	// 0 means no limit.
	MaxBytes int64
	// MemoryBytes bounds the store's memory: DuckDB's memory_limit (its
	// buffer pool: cached blocks, hash tables, sorts, which spill to
	// dir/tmp beyond it) is three fifths of it, leaving the rest for what
	// DuckDB allocates outside the pool, the Go side and results (measured:
	// resident memory stays near MemoryBytes). 0 leaves DuckDB's default
	// (80% of the machine).
	MemoryBytes int64
	// Threads bounds DuckDB's worker threads; 0 means one per CPU.
	Threads int
	// Dedup is how many recent event ids Insert remembers to skip events
	// delivered twice; 0 means DefaultDedup, negative turns it off.
	Dedup int
	// Log receives operator messages; nil discards them.
	Log *slog.Logger
}

// DefaultDedup is the default Options.Dedup.
const DefaultDedup = 100_000

// fileName is the database file inside the store's directory.
const fileName = "events.duckdb"

// schemaVersion is the layout this code reads and writes.
const schemaVersion = "1"

// Store is the DuckDB event store. Its methods are safe for concurrent use;
// inserts and retention run one at a time.
type Store struct {
	db        *sql.DB
	path      string
	log       *slog.Logger
	canonical func(string) (string, bool)
	maxAge    time.Duration
	maxBytes  int64

	// wmu serialises writers (Insert, Retain) and guards dedup.
	wmu   sync.Mutex
	dedup *dedup

	// mu guards the fields below. Queries hold it for reading while they
	// run, so that retention never drops a table under a query.
	mu     sync.RWMutex
	parts  map[int64]*partition // by day number
	fields map[string]string    // field name → column name, for all days
	byCol  map[string]string    // column name → field name
	typed  []string             // fields that new days get typed columns for
	closed bool
}

var _ eventstore.Store = (*Store)(nil)

// Open opens (creating when needed) the event store in dir.
func Open(dir string, o Options) (*Store, error) {
	if strings.ContainsAny(dir, "?#") {
		return nil, fmt.Errorf("eventstore: open %s: the directory name may not contain ? or #", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("eventstore: open: %w", err)
	}
	path := filepath.Join(dir, fileName)
	q := url.Values{}
	q.Set("autoinstall_known_extensions", "false")
	q.Set("autoload_known_extensions", "false")
	q.Set("temp_directory", filepath.Join(dir, "tmp"))
	q.Set("preserve_insertion_order", "false")
	threads := o.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	q.Set("threads", strconv.Itoa(threads))
	if o.MemoryBytes > 0 {
		q.Set("memory_limit", strconv.FormatInt(max(o.MemoryBytes/10*6>>20, 64), 10)+"MiB")
	}
	conn, err := ddb.NewConnector(path+"?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("eventstore: open %s: %w", path, err)
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		db:        sql.OpenDB(conn),
		path:      path,
		log:       log.With("component", "eventstore"),
		canonical: o.Canonical,
		maxAge:    o.MaxAge,
		maxBytes:  o.MaxBytes,
		parts:     make(map[int64]*partition),
		fields:    make(map[string]string),
		byCol:     make(map[string]string),
	}
	s.db.SetMaxOpenConns(threads + 4)
	s.db.SetMaxIdleConns(4)
	n := o.Dedup
	if n == 0 {
		n = DefaultDedup
	}
	s.dedup = newDedup(n)
	ctx := context.Background()
	if err := s.init(ctx, o.Columns); err != nil {
		return nil, errors.Join(fmt.Errorf("eventstore: open %s: %w", path, err), s.db.Close())
	}
	return s, nil
}

// init creates the metadata tables, registers koban_ip, reads the column
// mapping and the days, and refills the dedup memory.
func (s *Store) init(ctx context.Context, columns []string) error {
	c, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	ipf, err := newIPFunc()
	if err != nil {
		return err
	}
	if err := ddb.RegisterScalarUDF(c, "koban_ip", ipf); err != nil {
		return fmt.Errorf("register koban_ip: %w", err)
	}
	for _, stmt := range []string{
		`CREATE TABLE IF NOT EXISTS koban_meta (key VARCHAR, value VARCHAR)`,
		`CREATE TABLE IF NOT EXISTS koban_columns (field VARCHAR, col VARCHAR)`,
		`INSERT INTO koban_meta SELECT 'schema', ? WHERE NOT EXISTS (SELECT 1 FROM koban_meta WHERE key = 'schema')`,
		`INSERT INTO koban_meta SELECT 'checkpoint', '' WHERE NOT EXISTS (SELECT 1 FROM koban_meta WHERE key = 'checkpoint')`,
	} {
		var args []any
		if strings.Contains(stmt, "?") {
			args = append(args, schemaVersion)
		}
		if _, err := c.ExecContext(ctx, stmt, args...); err != nil {
			return err
		}
	}
	var version string
	if err := c.QueryRowContext(ctx, `SELECT value FROM koban_meta WHERE key = 'schema'`).Scan(&version); err != nil {
		return err
	}
	if version != schemaVersion {
		return fmt.Errorf("schema version %q, this koban reads %q", version, schemaVersion)
	}
	if err := s.loadColumns(ctx, c, columns); err != nil {
		return err
	}
	if err := s.loadPartitions(ctx, c); err != nil {
		return err
	}
	return s.refillDedup(ctx, c)
}

// loadColumns reads the field → column mapping and adds columns for
// fields of the list that have none yet.
func (s *Store) loadColumns(ctx context.Context, c *sql.Conn, columns []string) error {
	rows, err := c.QueryContext(ctx, `SELECT field, col FROM koban_columns`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var f, col string
		if err := rows.Scan(&f, &col); err != nil {
			rows.Close()
			return err
		}
		s.fields[f], s.byCol[col] = col, f
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	seen := make(map[string]bool)
	for _, f := range columns {
		if f == "" || seen[f] {
			continue
		}
		seen[f] = true
		s.typed = append(s.typed, f)
		if _, ok := s.fields[f]; ok {
			continue
		}
		col := columnName(f, s.byCol)
		if _, err := c.ExecContext(ctx, `INSERT INTO koban_columns VALUES (?, ?)`, f, col); err != nil {
			return err
		}
		s.fields[f], s.byCol[col] = col, f
	}
	return nil
}

// loadPartitions finds the day tables and their typed columns.
func (s *Store) loadPartitions(ctx context.Context, c *sql.Conn) error {
	rows, err := c.QueryContext(ctx, `SELECT table_name, column_name FROM duckdb_columns()
		WHERE database_name = current_database() AND schema_name = 'main' AND table_name LIKE 'events\_%' ESCAPE '\'
		ORDER BY table_name, column_index`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			return err
		}
		day, ok := tableDay(table)
		if !ok {
			continue
		}
		p := s.parts[day]
		if p == nil {
			p = newPartition(day)
			s.parts[day] = p
		}
		if f, ok := s.byCol[col]; ok {
			p.add(f, col)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, p := range s.parts {
		p.insert = p.insertSQL()
	}
	counts, err := c.QueryContext(ctx, `SELECT table_name, estimated_size FROM duckdb_tables()
		WHERE database_name = current_database() AND schema_name = 'main'`)
	if err != nil {
		return err
	}
	defer counts.Close()
	for counts.Next() {
		var table string
		var n int64
		if err := counts.Scan(&table, &n); err != nil {
			return err
		}
		if day, ok := tableDay(table); ok && s.parts[day] != nil {
			s.parts[day].rows.Store(n)
		}
	}
	return counts.Err()
}

// Close waits for running calls and closes the database.
func (s *Store) Close() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("eventstore: close: %w", err)
	}
	return nil
}

// errClosed is returned by calls on a closed store.
var errClosed = errors.New("eventstore: the store is closed")

// rlock takes the read lock for a query, failing on a closed store.
func (s *Store) rlock() error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return errClosed
	}
	return nil
}
