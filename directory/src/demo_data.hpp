#pragma once
// Static data of the demo province: Thái Nguyên's units and the name pools
// for generated civil servants. Names are real Vietnamese names; frequencies
// of family names follow published surveys of northern Vietnam, rounded.

#include <string_view>

namespace homthu::directory::demo::data {

struct weighted {
  std::string_view value;
  unsigned weight;
};

struct district {
  std::string_view name;
  std::string_view id;
  // Communes, wards and towns with their tier word ("Xã …", "Phường …", "Thị trấn …").
  const std::string_view* communes;
  unsigned commune_count;
};

extern const std::string_view departments[];
extern const unsigned department_count;
extern const district districts[];
extern const unsigned district_count;

extern const weighted family_names[];
extern const unsigned family_name_count;
extern const std::string_view male_middle[];
extern const unsigned male_middle_count;
extern const std::string_view female_middle[];
extern const unsigned female_middle_count;
extern const std::string_view male_given[];
extern const unsigned male_given_count;
extern const std::string_view female_given[];
extern const unsigned female_given_count;

}  // namespace homthu::directory::demo::data
