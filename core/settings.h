#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"

namespace tiercache {

// How a component reads and shows its own section of the configuration without knowing the
// file format. config/ implements the readers over its YAML loader, server/ the writer over
// the status document's JSON; a backend kind (core/backend_kind.h) uses both.
//
// Reading happens at start-up only. Every reader method either returns a valid value or
// throws the loader's configuration error ("FILE:LINE:COLUMN: path: message", pointing at
// the offending key or value) and never returns; callers need not check anything.

class Setting;

// One key a section may hold, and what to do with its value when the file sets it.
struct SettingField {
  std::string_view name;
  std::function<void(const Setting&)> read;
};

// One value of the file: a scalar, a list or a map, with its place for error messages.
class Setting {
 public:
  virtual ~Setting() = default;

  // The key ("pool_size"), empty for a list item.
  virtual std::string_view name() const = 0;

  // A non-empty string.
  virtual std::string Text() const = 0;
  // A list of non-empty strings; an empty value is an empty list.
  virtual std::vector<std::string> Texts() const = 0;
  // A whole number in [min, max]: "must be greater than 0" below a min of 1, "must be at
  // least MIN" below another, "must be at most MAX" above.
  virtual uint64_t Count(uint64_t min = 0,
                         uint64_t max = std::numeric_limits<uint64_t>::max()) const = 0;
  // A size in bytes ("512", "64KiB", "1MB"), greater than 0.
  virtual uint64_t PositiveSize() const = 0;
  // A duration ("250ms", "10s", "5m"), greater than 0.
  virtual Duration PositiveDuration() const = 0;
  // A finite number; bounds are the caller's (Fail with them).
  virtual double Number() const = 0;
  // true or false.
  virtual bool Bool() const = 0;
  // A lower-case SQL identifier ([a-z_][a-z0-9_]*) of at most `max_length` characters.
  virtual std::string Identifier(size_t max_length) const = 0;
  // One of `choices`, as written.
  virtual std::string OneOf(std::initializer_list<std::string_view> choices) const = 0;

  // A map read through `fields`, as SettingsReader::Read does; an empty value keeps every
  // default.
  virtual void Fields(const std::vector<SettingField>& fields) const = 0;
  // A list, item by item (each named "path[i]" in messages); an empty value is no item.
  virtual void ForEach(const std::function<void(const Setting&)>& read) const = 0;

  // Rejects the value: "FILE:LINE:COLUMN: path: message".
  [[noreturn]] virtual void Fail(std::string_view message) const = 0;
};

// One map section of the file (a tier, say) whose keys the caller names.
class SettingsReader {
 public:
  virtual ~SettingsReader() = default;

  // The section's place in the file, as messages name it ("tiers[0]").
  virtual std::string_view path() const = 0;

  // Reads every key the section sets, in file order, through `fields` (plus the keys the
  // section's owner reads itself, such as a tier's type and name). A key that is none of
  // them, or is given twice, is an error that lists the keys allowed. Call it once.
  virtual void Read(const std::vector<SettingField>& fields) const = 0;

  // Rejects the section as a whole (a rule between two of its settings, a missing one).
  [[noreturn]] virtual void Fail(std::string_view message) const = 0;
};

// How a component shows its effective settings (defaults included) under the key names it
// reads them by. Values that may hold a credential go through Url, PostgresDsn or Secret,
// which the writer redacts.
class SettingsWriter {
 public:
  virtual ~SettingsWriter() = default;

  virtual void Text(std::string_view name, std::string_view value) = 0;
  virtual void Count(std::string_view name, uint64_t value) = 0;
  virtual void Number(std::string_view name, double value) = 0;
  virtual void Bool(std::string_view name, bool value) = 0;
  // Written as the reader reads it back ("300s", "250ms").
  virtual void Duration(std::string_view name, tiercache::Duration value) = 0;
  // A URL (scheme://user:password@host/...?token=...): its password and secret-looking
  // query parameters are hidden.
  virtual void Url(std::string_view name, std::string_view value) = 0;
  // A libpq connection string or postgres[ql]:// URI: its passwords are hidden.
  virtual void PostgresDsn(std::string_view name, std::string_view value) = 0;
  // A secret as a whole: never shown.
  virtual void Secret(std::string_view name, std::string_view value) = 0;
};

}  // namespace tiercache
