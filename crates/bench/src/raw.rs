//! The baseline: the same rows written through SQLite's C API directly (prepared INSERTs,
//! bound parameters, BEGIN/COMMIT per audit, the workload's PRAGMAs), with none of the
//! project's code. Also the fast path that builds the browse databases.

use std::ffi::{c_int, CStr, CString};
use std::path::Path;
use std::ptr;

use libsqlite3_sys as ffi;
use veritas_core::AuditRecord;

/// An open database handle.
pub struct Db(*mut ffi::sqlite3);

/// A prepared statement.
pub struct Stmt(*mut ffi::sqlite3_stmt);

fn check(db: *mut ffi::sqlite3, rc: c_int, what: &str) {
    if rc != ffi::SQLITE_OK && rc != ffi::SQLITE_DONE && rc != ffi::SQLITE_ROW {
        // SAFETY: db is a live handle; sqlite3_errmsg returns a NUL-terminated string.
        let msg = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(db)) }
            .to_string_lossy()
            .into_owned();
        panic!("{what}: sqlite error {rc}: {msg}");
    }
}

impl Db {
    pub fn open(path: &Path) -> Db {
        let name = CString::new(path.to_string_lossy().as_bytes()).unwrap();
        let mut db = ptr::null_mut();
        // SAFETY: valid C string and out-pointer.
        let rc = unsafe {
            ffi::sqlite3_open_v2(
                name.as_ptr(),
                &mut db,
                ffi::SQLITE_OPEN_READWRITE | ffi::SQLITE_OPEN_CREATE,
                ptr::null(),
            )
        };
        check(db, rc, "open");
        // Before anything else: another connection (a store just dropped, checkpointing as
        // it closes) may hold the file for a moment.
        // SAFETY: a live handle.
        unsafe { ffi::sqlite3_busy_timeout(db, 60_000) };
        let db = Db(db);
        db.exec(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-64000; \
             PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=1000;",
        );
        db
    }

    pub fn exec(&self, sql: &str) {
        let sql = CString::new(sql).unwrap();
        // SAFETY: live handle, valid C string, no callback.
        let rc = unsafe { ffi::sqlite3_exec(self.0, sql.as_ptr(), None, ptr::null_mut(), ptr::null_mut()) };
        check(self.0, rc, "exec");
    }

    pub fn prepare(&self, sql: &str) -> Stmt {
        let sql = CString::new(sql).unwrap();
        let mut stmt = ptr::null_mut();
        // SAFETY: live handle, valid C string, out-pointer.
        let rc = unsafe { ffi::sqlite3_prepare_v2(self.0, sql.as_ptr(), -1, &mut stmt, ptr::null_mut()) };
        check(self.0, rc, "prepare");
        Stmt(stmt)
    }

    pub fn count(&self, sql: &str) -> i64 {
        let s = self.prepare(sql);
        // SAFETY: a prepared statement of this handle.
        unsafe {
            check(self.0, ffi::sqlite3_step(s.0), "count");
            ffi::sqlite3_column_int64(s.0, 0)
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        // SAFETY: every Stmt of this handle is dropped (finalized) before it.
        unsafe { ffi::sqlite3_close(self.0) };
    }
}

impl Drop for Stmt {
    fn drop(&mut self) {
        // SAFETY: a statement prepared by sqlite3_prepare_v2.
        unsafe { ffi::sqlite3_finalize(self.0) };
    }
}

/// A value to bind.
pub enum V<'a> {
    T(&'a str),
    OT(Option<&'a str>),
    F(Option<f64>),
    I(Option<i64>),
}

impl Stmt {
    /// Bind `values` to ?1.. and step once.
    pub fn run(&self, db: &Db, values: &[V<'_>]) {
        // SAFETY: binding with SQLITE_TRANSIENT copies the bytes before returning.
        unsafe {
            for (k, v) in values.iter().enumerate() {
                let i = k as c_int + 1;
                let rc = match v {
                    V::T(s) | V::OT(Some(s)) => ffi::sqlite3_bind_text(
                        self.0,
                        i,
                        s.as_ptr().cast(),
                        s.len() as c_int,
                        ffi::SQLITE_TRANSIENT(),
                    ),
                    V::F(Some(f)) => ffi::sqlite3_bind_double(self.0, i, *f),
                    V::I(Some(n)) => ffi::sqlite3_bind_int64(self.0, i, *n),
                    V::OT(None) | V::F(None) | V::I(None) => ffi::sqlite3_bind_null(self.0, i),
                };
                check(db.0, rc, "bind");
            }
            check(db.0, ffi::sqlite3_step(self.0), "step");
            ffi::sqlite3_reset(self.0);
        }
    }
}

/// The four INSERTs of one audit, prepared once.
pub struct Inserts {
    audit: Stmt,
    finding: Stmt,
    shot: Stmt,
    event: Stmt,
}

impl Inserts {
    pub fn prepare(db: &Db) -> Inserts {
        Inserts {
            audit: db.prepare(
                "INSERT INTO audits (id, url, status, audit_tier, verdict_mode, trust_score, risk_level, signal_scores,
                 narrative, site_type, site_type_confidence, security_results, pages_scanned, screenshots_count,
                 elapsed_seconds, errors, error_message, started_at, completed_at, created_at, updated_at)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21)",
            ),
            finding: db.prepare(
                "INSERT INTO audit_findings (audit_id, pattern_type, category, severity, confidence, description,
                 plain_english, screenshot_index, created_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
            ),
            shot: db.prepare(
                "INSERT INTO audit_screenshots (audit_id, file_path, label, index_num, file_size_bytes, created_at)
                 VALUES (?1,?2,?3,?4,?5,?6)",
            ),
            event: db.prepare("INSERT INTO audit_events (audit_id, event_type, data, timestamp) VALUES (?1,?2,?3,?4)"),
        }
    }

    /// Insert one audit's 21 rows (no transaction of its own).
    pub fn insert(&self, db: &Db, a: &AuditRecord, json: &RecordJson) {
        let created = a.fields.created_at.as_deref();
        self.audit.run(
            db,
            &[
                V::T(&a.id),
                V::T(&a.url),
                V::T(a.status.map(|s| s.as_str()).unwrap_or("completed")),
                V::OT(a.fields.audit_tier.as_deref()),
                V::OT(a.fields.verdict_mode.as_deref()),
                V::F(a.fields.trust_score),
                V::OT(a.fields.risk_level.as_deref()),
                V::OT(Some(&json.signals)),
                V::OT(a.fields.narrative.as_deref()),
                V::OT(a.fields.site_type.as_deref()),
                V::F(a.fields.site_type_confidence),
                V::OT(Some(&json.security)),
                V::I(a.fields.pages_scanned),
                V::I(a.screenshots_count),
                V::F(a.fields.elapsed_seconds),
                V::OT(Some(&json.errors)),
                V::OT(a.fields.error_message.as_deref()),
                V::OT(a.fields.started_at.as_deref()),
                V::OT(a.fields.completed_at.as_deref()),
                V::OT(created),
                V::OT(a.fields.updated_at.as_deref()),
            ],
        );
        for f in &a.findings {
            self.finding.run(
                db,
                &[
                    V::T(&a.id),
                    V::T(&f.pattern_type),
                    V::OT(f.category.as_deref()),
                    V::T(&f.severity),
                    V::F(Some(f.confidence)),
                    V::T(&f.description),
                    V::OT(f.plain_english.as_deref()),
                    V::I(f.screenshot_index),
                    V::OT(created),
                ],
            );
        }
        for s in &a.screenshots {
            self.shot.run(
                db,
                &[
                    V::T(&a.id),
                    V::T(&s.file_path),
                    V::T(&s.label),
                    V::I(Some(s.index)),
                    V::I(s.file_size_bytes),
                    V::OT(created),
                ],
            );
        }
        for (e, data) in a.events.iter().zip(&json.events) {
            self.event.run(
                db,
                &[
                    V::T(&a.id),
                    V::T(&e.event_type),
                    V::T(data),
                    V::OT(e.timestamp.as_deref()),
                ],
            );
        }
    }
}

/// The JSON columns serialised once, before any timer starts.
pub struct RecordJson {
    pub signals: String,
    pub security: String,
    pub errors: String,
    pub events: Vec<String>,
}

impl RecordJson {
    pub fn of(a: &AuditRecord) -> RecordJson {
        let s = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
        RecordJson {
            signals: s(&a.fields.signal_scores),
            security: s(&a.fields.security_results),
            errors: s(&a.fields.errors),
            events: a.events.iter().map(|e| e.data.to_string()).collect(),
        }
    }
}

/// The Veritas schema as the backend creates it (no project additions).
pub const VERITAS_SCHEMA: &str = include_str!("../../core/migrations/0001_veritas_schema.sql");
