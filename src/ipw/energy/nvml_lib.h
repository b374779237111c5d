// Internal to the energy module: NVML loaded with dlopen, so one binary runs with and without an
// NVIDIA driver. Only the few entry points ipw uses are declared, with the ABI of nvml.h
// (stable across driver versions). NvmlLibrary::load() initialises NVML; the last shared_ptr to
// go (the sensors of one discovery and hardware detection each hold one) shuts it down.
#pragma once

#include <memory>
#include <string>

namespace ipw::energy::nvml {

using Return = int;  // nvmlReturn_t
constexpr Return kSuccess = 0;
constexpr Return kNotSupported = 3;
constexpr Return kGpuIsLost = 15;

using Device = struct nvmlDevice_st*;

constexpr unsigned kFieldPowerAverage = 185;  // NVML_FI_DEV_POWER_AVERAGE
constexpr unsigned kFieldPowerInstant = 186;  // NVML_FI_DEV_POWER_INSTANT

enum ValueType { kDouble = 0, kUInt = 1, kULong = 2, kULongLong = 3, kSLongLong = 4, kSInt = 5, kUShort = 6 };

union Value {
  double dVal;
  unsigned int uiVal;
  unsigned long ulVal;
  unsigned long long ullVal;
  long long sllVal;
  int siVal;
  unsigned short usVal;
};

struct FieldValue {  // nvmlFieldValue_t
  unsigned int fieldId;
  unsigned int scopeId;
  long long timestamp;
  long long latencyUsec;
  int valueType;
  int nvmlReturn;
  Value value;
};

// Numeric value of a field whatever its type.
double field_as_double(const FieldValue& f);

class Library {
 public:
  // dlopen + nvmlInit_v2. Returns nullptr with *why set to a readable sentence when the library
  // is absent, lacks an entry point, or NVML does not initialise.
  static std::shared_ptr<Library> load(const std::string& path, std::string* why);
  ~Library();
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  const std::string& path() const { return path_; }
  std::string error_string(Return r) const;
  std::string driver_version() const;  // "" if unknown

  Return (*DeviceGetCount)(unsigned int*) = nullptr;
  Return (*DeviceGetHandleByIndex)(unsigned int, Device*) = nullptr;
  Return (*DeviceGetName)(Device, char*, unsigned int) = nullptr;
  Return (*DeviceGetTotalEnergyConsumption)(Device, unsigned long long*) = nullptr;
  Return (*DeviceGetPowerUsage)(Device, unsigned int*) = nullptr;
  Return (*DeviceGetFieldValues)(Device, int, FieldValue*) = nullptr;

 private:
  Library() = default;
  void* handle_ = nullptr;
  std::string path_;
  Return (*init_)() = nullptr;
  Return (*shutdown_)() = nullptr;
  Return (*driver_version_)(char*, unsigned int) = nullptr;
  const char* (*error_string_)(Return) = nullptr;
};

}  // namespace ipw::energy::nvml
