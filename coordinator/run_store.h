// The run journal: every run's report, snapshotted as it goes, so a run is never "running" forever
// after a crash. Also the busy-host table (one run per host in this coordinator).
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "failover/v1/report.pb.h"

namespace failover::coordinator {

class RunStore {
 public:
  virtual ~RunStore() = default;
  // Records the report (a snapshot while RUN_RUNNING, or final). A final report becomes the latest
  // when it started after the current latest.
  virtual void Save(const v1::Report& report) = 0;
  // The config text a run was requested with (`failoverctl -c`), kept for recovery after a crash.
  virtual void SaveRequestConfig(const std::string& run_id, const std::string& yaml) = 0;
  // "" when the run had none (it used the coordinator's own config).
  virtual std::string RequestConfig(const std::string& run_id) = 0;
  // The report of `run_id`, or of the latest finished run when `run_id` is empty; NOT_FOUND otherwise.
  virtual absl::StatusOr<v1::Report> Get(const std::string& run_id) = 0;
  // Runs journaled by an earlier process and still RUN_RUNNING: their coordinator stopped during the run.
  virtual std::vector<v1::Report> Interrupted() = 0;
};

// Files in <dir>/runs/: a running run's journal <run id>.journal (JSON lines: the report as it
// began, then per snapshot only what changed: the steps whose record changed and the entries
// added since), appended, never rewritten; its final report <run id>.json (+ .config.yaml),
// written once, after which the journal is removed. dir "" keeps reports in memory only.
// Reports and journals of earlier processes over the same dir are read at construction; a torn
// last journal line (a crash mid-write) is ignored.
class FileRunStore : public RunStore {
 public:
  explicit FileRunStore(std::string dir);

  void Save(const v1::Report& report) override;
  void SaveRequestConfig(const std::string& run_id, const std::string& yaml) override;
  std::string RequestConfig(const std::string& run_id) override;
  absl::StatusOr<v1::Report> Get(const std::string& run_id) override;
  std::vector<v1::Report> Interrupted() override;

 private:
  // What a run's journal already holds, so the next line carries only what changed.
  struct Journaled {
    std::map<std::string, std::string> steps;  // step id -> serialized record
    int initial_state = 0, operations = 0, health = 0, final_state = 0, errors = 0;
  };
  void Remember(const v1::Report& report);  // requires mu_
  // The journal line for `report` (all of it the first time), updating `j`.
  static std::string JournalLine(const v1::Report& report, bool first, Journaled* j);
  void ReadJournal(const std::string& path);
  std::string RunsDir() const { return dir_ + "/runs"; }

  std::string dir_;
  std::mutex mu_;
  std::map<std::string, v1::Report> reports_;  // run id -> report
  std::string latest_;
  std::set<std::string> found_running_;  // RUN_RUNNING when read at construction
  std::map<std::string, Journaled> journaled_;  // running runs of this process
};

// Applies one journal line's change to `report`: steps replace the record with the same id (or
// are added), every other repeated field is appended.
void ApplyJournalDelta(const v1::Report& delta, v1::Report* report);

// Which run holds which host in this coordinator: a second run on a busy host is refused before
// anything changes.
class HostClaims {
 public:
  // Claims every host for `run_id`, or none: FAILED_PRECONDITION naming the host and the run holding it.
  absl::Status Claim(const std::vector<std::string>& hosts, const std::string& run_id);
  void Release(const std::string& run_id);

 private:
  std::mutex mu_;
  std::map<std::string, std::string> busy_;  // host -> run id
};

}  // namespace failover::coordinator
