// Compile-time checks of the field table (include/holon_fields.h). A duplicate id already fails
// in the header's switches (duplicate case); here: ids are dense 0 … HOLON_F_RULE_FIELDS-1 and
// every slot fits the XDP program's 32-bit `present` mask.
#include "holon_fields.h"

#define HOLON_FIELD_ONE(NAME, id, name, max, carrier) + 1
_Static_assert(0 HOLON_FIELD_TABLE(HOLON_FIELD_ONE) == HOLON_F_RULE_FIELDS,
               "HOLON_F_RULE_FIELDS must count the table's rows");
#define HOLON_FIELD_BELOW(NAME, id, name, max, carrier) && (id) < HOLON_F_RULE_FIELDS
_Static_assert(1 HOLON_FIELD_TABLE(HOLON_FIELD_BELOW), "field ids must be below HOLON_F_RULE_FIELDS");
_Static_assert(HOLON_F_COUNT <= HOLON_F_SLOTS, "field slots must fit the 32-bit present mask");
_Static_assert(HOLON_SIZE_CLASSES == 7 && HOLON_PORT_BANDS == 3,
               "holon_size_class and holon_port_band return 0…6 and 0…2");
