// The units of Thái Nguyên province (as organised before the 2025 reform:
// 9 district-level units, communes after the 2019-2020 mergers) and name
// pools. Immutable data only.
#include "demo_data.hpp"

#include <iterator>

namespace homthu::directory::demo::data {

const std::string_view departments[] = {
    "Văn phòng UBND tỉnh",
    "Văn phòng Đoàn ĐBQH và HĐND tỉnh",
    "Sở Nội vụ",
    "Sở Tài chính",
    "Sở Kế hoạch và Đầu tư",
    "Sở Tư pháp",
    "Sở Công Thương",
    "Sở Xây dựng",
    "Sở Giao thông Vận tải",
    "Sở Tài nguyên và Môi trường",
    "Sở Nông nghiệp và Phát triển nông thôn",
    "Sở Lao động - Thương binh và Xã hội",
    "Sở Văn hóa, Thể thao và Du lịch",
    "Sở Khoa học và Công nghệ",
    "Sở Giáo dục và Đào tạo",
    "Sở Y tế",
    "Sở Thông tin và Truyền thông",
    "Sở Ngoại vụ",
    "Thanh tra tỉnh",
    "Ban Dân tộc",
    "Ban Quản lý các Khu công nghiệp",
    "Đài Phát thanh - Truyền hình",
    "Báo Thái Nguyên",
    "Trường Chính trị tỉnh",
    "Trung tâm Phục vụ hành chính công",
    "Ban Quản lý dự án đầu tư xây dựng tỉnh",
    "Quỹ Đầu tư phát triển",
    "Liên minh Hợp tác xã",
    "Bảo hiểm xã hội tỉnh",
    "Cục Thuế tỉnh",
    "Kho bạc Nhà nước tỉnh",
};
const unsigned department_count = std::size(departments);

namespace {

const std::string_view tp_thai_nguyen[] = {
    "Phường Cam Giá", "Phường Chùa Hang", "Phường Đồng Bẩm", "Phường Đồng Quang",
    "Phường Gia Sàng", "Phường Hoàng Văn Thụ", "Phường Hương Sơn", "Phường Phan Đình Phùng",
    "Phường Phú Xá", "Phường Quan Triều", "Phường Quang Trung", "Phường Quang Vinh",
    "Phường Tân Lập", "Phường Tân Long", "Phường Tân Thành", "Phường Tân Thịnh",
    "Phường Thịnh Đán", "Phường Tích Lương", "Phường Trung Thành", "Phường Trưng Vương",
    "Phường Túc Duyên", "Xã Cao Ngạn", "Xã Đồng Liên", "Xã Huống Thượng", "Xã Linh Sơn",
    "Xã Phúc Hà", "Xã Phúc Trìu", "Xã Phúc Xuân", "Xã Quyết Thắng", "Xã Sơn Cẩm",
    "Xã Tân Cương", "Xã Thịnh Đức",
    // Not a current unit: one of the two names added to reach the 180 units
    // of the demo (README.md, "Demo province").
    "Xã Núi Cốc",
};
const std::string_view tp_song_cong[] = {
    "Phường Bách Quang", "Phường Cải Đan", "Phường Châu Sơn", "Phường Lương Sơn",
    "Phường Mỏ Chè", "Phường Phố Cò", "Phường Thắng Lợi", "Xã Bá Xuyên", "Xã Bình Sơn",
    "Xã Tân Quang", "Xã Vinh Sơn",
};
const std::string_view tp_pho_yen[] = {
    "Phường Ba Hàng", "Phường Bãi Bông", "Phường Bắc Sơn", "Phường Đắc Sơn",
    "Phường Đồng Tiến", "Phường Đông Cao", "Phường Hồng Tiến", "Phường Nam Tiến",
    "Phường Tân Hương", "Phường Tân Phú", "Phường Thuận Thành", "Phường Tiên Phong",
    "Phường Trung Thành", "Xã Minh Đức", "Xã Phúc Tân", "Xã Phúc Thuận", "Xã Thành Công",
    "Xã Vạn Phái",
    // Not a current unit; see "Xã Núi Cốc" above.
    "Xã Yên Bình",
};
const std::string_view dai_tu[] = {
    "Thị trấn Hùng Sơn", "Thị trấn Quân Chu", "Xã An Khánh", "Xã Bản Ngoại",
    "Xã Bình Thuận", "Xã Cát Nê", "Xã Cù Vân", "Xã Đức Lương", "Xã Hà Thượng",
    "Xã Hoàng Nông", "Xã Khôi Kỳ", "Xã Ký Phú", "Xã La Bằng", "Xã Lục Ba", "Xã Minh Tiến",
    "Xã Mỹ Yên", "Xã Na Mao", "Xã Phú Cường", "Xã Phú Lạc", "Xã Phú Thịnh", "Xã Phú Xuyên",
    "Xã Phục Linh", "Xã Phúc Lương", "Xã Tân Linh", "Xã Tân Thái", "Xã Tiên Hội",
    "Xã Vạn Phú", "Xã Văn Yên", "Xã Yên Lãng",
};
const std::string_view dinh_hoa[] = {
    "Thị trấn Chợ Chu", "Xã Bảo Cường", "Xã Bảo Linh", "Xã Bình Thành", "Xã Bình Yên",
    "Xã Bộc Nhiêu", "Xã Điềm Mặc", "Xã Định Biên", "Xã Đồng Thịnh", "Xã Kim Phượng",
    "Xã Lam Vỹ", "Xã Linh Thông", "Xã Phú Đình", "Xã Phú Tiến", "Xã Phúc Chu",
    "Xã Phượng Tiến", "Xã Quy Kỳ", "Xã Sơn Phú", "Xã Tân Dương", "Xã Tân Thịnh",
    "Xã Thanh Định", "Xã Trung Hội", "Xã Trung Lương",
};
const std::string_view phu_luong[] = {
    "Thị trấn Đu", "Thị trấn Giang Tiên", "Xã Cổ Lũng", "Xã Động Đạt", "Xã Hợp Thành",
    "Xã Ôn Lương", "Xã Phấn Mễ", "Xã Phú Đô", "Xã Phủ Lý", "Xã Tức Tranh", "Xã Vô Tranh",
    "Xã Yên Đổ", "Xã Yên Lạc", "Xã Yên Ninh", "Xã Yên Trạch",
};
const std::string_view dong_hy[] = {
    "Thị trấn Trại Cau", "Thị trấn Sông Cầu", "Xã Cây Thị", "Xã Hóa Thượng",
    "Xã Hóa Trung", "Xã Hòa Bình", "Xã Hợp Tiến", "Xã Khe Mo", "Xã Minh Lập", "Xã Nam Hòa",
    "Xã Quang Sơn", "Xã Tân Long", "Xã Tân Lợi", "Xã Văn Hán", "Xã Văn Lăng",
};
const std::string_view vo_nhai[] = {
    "Thị trấn Đình Cả", "Xã Bình Long", "Xã Cúc Đường", "Xã Dân Tiến", "Xã La Hiên",
    "Xã Lâu Thượng", "Xã Liên Minh", "Xã Nghinh Tường", "Xã Phú Thượng", "Xã Phương Giao",
    "Xã Sảng Mộc", "Xã Thần Sa", "Xã Thượng Nung", "Xã Tràng Xá", "Xã Vũ Chấn",
};
const std::string_view phu_binh[] = {
    "Thị trấn Hương Sơn", "Xã Bàn Đạt", "Xã Bảo Lý", "Xã Đào Xá", "Xã Điềm Thụy",
    "Xã Dương Thành", "Xã Hà Châu", "Xã Kha Sơn", "Xã Lương Phú", "Xã Nga My",
    "Xã Nhã Lộng", "Xã Tân Đức", "Xã Tân Hòa", "Xã Tân Khánh", "Xã Tân Kim",
    "Xã Tân Thành", "Xã Thanh Ninh", "Xã Thượng Đình", "Xã Úc Kỳ", "Xã Xuân Phương",
};

}  // namespace

const district districts[] = {
    {"Thành phố Thái Nguyên", "tp-thai-nguyen", tp_thai_nguyen, std::size(tp_thai_nguyen)},
    {"Thành phố Sông Công", "tp-song-cong", tp_song_cong, std::size(tp_song_cong)},
    {"Thành phố Phổ Yên", "tp-pho-yen", tp_pho_yen, std::size(tp_pho_yen)},
    {"Huyện Đại Từ", "huyen-dai-tu", dai_tu, std::size(dai_tu)},
    {"Huyện Định Hóa", "huyen-dinh-hoa", dinh_hoa, std::size(dinh_hoa)},
    {"Huyện Phú Lương", "huyen-phu-luong", phu_luong, std::size(phu_luong)},
    {"Huyện Đồng Hỷ", "huyen-dong-hy", dong_hy, std::size(dong_hy)},
    {"Huyện Võ Nhai", "huyen-vo-nhai", vo_nhai, std::size(vo_nhai)},
    {"Huyện Phú Bình", "huyen-phu-binh", phu_binh, std::size(phu_binh)},
};
const unsigned district_count = std::size(districts);

// Per mille, rounded; the long tail is folded into the smaller names.
const weighted family_names[] = {
    {"Nguyễn", 380}, {"Trần", 110}, {"Lê", 95}, {"Phạm", 70}, {"Hoàng", 50},
    {"Vũ", 40},      {"Đỗ", 30},    {"Bùi", 25}, {"Đặng", 22}, {"Ngô", 20},
    {"Dương", 18},   {"Đinh", 15},  {"Lý", 12},  {"Hà", 12},   {"Trịnh", 10},
    {"Lương", 10},   {"Ma", 10},    {"Nông", 10}, {"Triệu", 8}, {"Đào", 8},
    {"Mai", 8},      {"Phan", 8},   {"Cao", 6},  {"Lưu", 6},   {"Tạ", 5},
    {"Chu", 5},      {"Lường", 4},  {"Quách", 3},
};
const unsigned family_name_count = std::size(family_names);

const std::string_view male_middle[] = {
    "Văn", "Văn", "Văn", "Đức", "Minh", "Quang", "Thanh", "Hữu", "Xuân", "Ngọc",
    "Mạnh", "Tiến", "Công", "Hồng", "Trọng", "Duy", "Anh", "Việt",
};
const unsigned male_middle_count = std::size(male_middle);
const std::string_view female_middle[] = {
    "Thị", "Thị", "Thị", "Thu", "Ngọc", "Thanh", "Hồng", "Minh", "Thúy", "Phương",
    "Kim", "Diệu", "Hải", "Bích", "Mai", "Thùy",
};
const unsigned female_middle_count = std::size(female_middle);
const std::string_view male_given[] = {
    "An", "Anh", "Bình", "Cường", "Dũng", "Đạt", "Đức", "Hải", "Hùng", "Hưng",
    "Huy", "Khánh", "Khoa", "Kiên", "Lâm", "Long", "Minh", "Nam", "Nghĩa", "Phong",
    "Phúc", "Quân", "Quang", "Sơn", "Thắng", "Thành", "Toàn", "Trung", "Tuấn", "Tùng",
    "Việt", "Vinh", "Hiếu", "Hoàng", "Hiệp", "Thịnh", "Tiến", "Trường", "Chiến", "Giang",
};
const unsigned male_given_count = std::size(male_given);
const std::string_view female_given[] = {
    "Anh", "Chi", "Dung", "Giang", "Hà", "Hằng", "Hạnh", "Hiền", "Hoa", "Huệ",
    "Hương", "Lan", "Liên", "Linh", "Loan", "Mai", "Nga", "Ngân", "Ngọc", "Nhung",
    "Oanh", "Phương", "Quỳnh", "Thảo", "Thơm", "Thu", "Thủy", "Trang", "Vân", "Yến",
    "Hồng", "Huyền", "Lệ", "Tâm", "Tuyết", "Xuân",
};
const unsigned female_given_count = std::size(female_given);

}  // namespace homthu::directory::demo::data
