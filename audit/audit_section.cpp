#include "audit/audit_section.h"

namespace wardgate::audit {

AuditOptions read_audit_options(common::ObjectReader& r) {
  AuditOptions o;
  o.log = r.string("log", o.log);
  if (o.log != "stderr" && o.log != "off" && !common::absolute_path(o.log)) {
    r.fail("log", R"(must be "stderr", "off" or the absolute path of a file (got )" +
                      common::shown(nlohmann::json(o.log)) + ")");
  }
  o.log_patient_data = r.choice("log_patient_data", {"omit", "as-stored"}, o.log_patient_data);
  o.patient_data =
      r.choice("patient_data",
               {PatientDataPolicy::kPlain, PatientDataPolicy::kKeyedHash, PatientDataPolicy::kOmit},
               o.patient_data);
  o.secret_file = r.string("secret_file", o.secret_file);
  r.require_absolute_path("secret_file", o.secret_file);
  return o;
}

}  // namespace wardgate::audit
