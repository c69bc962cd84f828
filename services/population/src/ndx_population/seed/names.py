"""Frequency tables for synthetic Vietnamese citizens (approximate public statistics)."""

from __future__ import annotations

# Family names and their approximate shares of the population (per cent).
SURNAMES: tuple[tuple[str, float], ...] = (
    ("Nguyễn", 38.0), ("Trần", 11.0), ("Lê", 9.5), ("Phạm", 7.1), ("Hoàng", 4.1),
    ("Huỳnh", 3.0), ("Phan", 4.5), ("Vũ", 3.9), ("Võ", 2.5), ("Đặng", 2.1), ("Bùi", 2.0),
    ("Đỗ", 1.4), ("Hồ", 1.3), ("Ngô", 1.3), ("Dương", 1.0), ("Lý", 0.5), ("Đinh", 0.6),
    ("Trương", 0.6), ("Đoàn", 0.5), ("Lương", 0.4), ("Mai", 0.4), ("Trịnh", 0.4), ("Cao", 0.3),
    ("Lâm", 0.3), ("Tô", 0.2), ("Hà", 0.4), ("Tạ", 0.2), ("Kiều", 0.1), ("Chu", 0.2),
    ("Châu", 0.2), ("Thái", 0.2), ("Quách", 0.1), ("La", 0.1), ("Triệu", 0.1), ("Lưu", 0.2),
)

MALE_MIDDLE: tuple[tuple[str, float], ...] = (
    ("Văn", 30), ("Đức", 10), ("Minh", 10), ("Quang", 7), ("Hữu", 7), ("Thanh", 6),
    ("Công", 5), ("Tuấn", 3), ("Ngọc", 3), ("Xuân", 3), ("Đình", 5), ("Trọng", 3),
    ("Quốc", 4), ("Hoàng", 3), ("Gia", 3), ("Anh", 2), ("Mạnh", 2), ("Bá", 2), ("Thế", 2),
)

FEMALE_MIDDLE: tuple[tuple[str, float], ...] = (
    ("Thị", 45), ("Ngọc", 10), ("Thu", 6), ("Thanh", 6), ("Minh", 5), ("Phương", 4),
    ("Kim", 4), ("Mỹ", 3), ("Hồng", 3), ("Bảo", 3), ("Khánh", 3), ("Hoài", 2), ("Diệu", 2),
    ("Quỳnh", 2), ("Thùy", 2),
)

MALE_GIVEN: tuple[tuple[str, float], ...] = (
    ("An", 3), ("Bình", 3), ("Cường", 3), ("Dũng", 4), ("Duy", 3), ("Đạt", 3), ("Hải", 4),
    ("Hiếu", 3), ("Hoàng", 3), ("Hùng", 5), ("Huy", 4), ("Khánh", 2), ("Khoa", 2),
    ("Kiên", 2), ("Long", 4), ("Lộc", 2), ("Minh", 5), ("Nam", 5), ("Nghĩa", 2), ("Phong", 3),
    ("Phúc", 3), ("Quân", 3), ("Sơn", 4), ("Tâm", 2), ("Thắng", 3), ("Thành", 4),
    ("Thịnh", 2), ("Toàn", 2), ("Trung", 3), ("Tuấn", 5), ("Tùng", 3), ("Việt", 2), ("Vinh", 3),
    ("Bảo", 2), ("Đức", 3), ("Hưng", 3), ("Phát", 2), ("Tài", 2), ("Thiện", 1), ("Nhân", 2),
)

FEMALE_GIVEN: tuple[tuple[str, float], ...] = (
    ("Anh", 4), ("Chi", 3), ("Dung", 3), ("Giang", 3), ("Hà", 4), ("Hằng", 3), ("Hạnh", 3),
    ("Hoa", 4), ("Hồng", 3), ("Huệ", 2), ("Hương", 5), ("Lan", 5), ("Liên", 2), ("Linh", 5),
    ("Loan", 2), ("Mai", 5), ("My", 3), ("Nga", 3), ("Ngân", 3), ("Ngọc", 4), ("Nhung", 3),
    ("Oanh", 2), ("Phương", 4), ("Quỳnh", 3), ("Tâm", 2), ("Thảo", 5), ("Thu", 3), ("Thủy", 4),
    ("Trang", 5), ("Trinh", 2), ("Uyên", 2), ("Vân", 3), ("Vy", 3), ("Yến", 3), ("Hiền", 3),
    ("Nhi", 3), ("Châu", 2), ("Diễm", 1), ("Tuyết", 2), ("Xuân", 2),
)

# The 54 ethnic groups (Census 2019 shares, per cent; the smallest rounded up for presence).
ETHNIC_GROUPS: tuple[tuple[str, float], ...] = (
    ("Kinh", 85.3), ("Tày", 1.92), ("Thái", 1.89), ("Mường", 1.31), ("Hoa", 0.78),
    ("Khmer", 1.37), ("Nùng", 1.08), ("H'Mông", 1.18), ("Dao", 0.92), ("Gia Rai", 0.54),
    ("Ê Đê", 0.41), ("Ba Na", 0.30), ("Sán Chay", 0.21), ("Chăm", 0.18), ("Cơ Ho", 0.21),
    ("Xơ Đăng", 0.22), ("Sán Dìu", 0.19), ("Hrê", 0.15), ("Ra Glai", 0.16), ("Mnông", 0.13),
    ("Thổ", 0.09), ("Xtiêng", 0.10), ("Khơ Mú", 0.09), ("Bru - Vân Kiều", 0.10),
    ("Cơ Tu", 0.08), ("Giáy", 0.07), ("Tà Ôi", 0.05), ("Mạ", 0.05), ("Giẻ Triêng", 0.07),
    ("Co", 0.04), ("Chơ Ro", 0.03), ("Xinh Mun", 0.03), ("Hà Nhì", 0.03), ("Chu Ru", 0.02),
    ("Lào", 0.02), ("La Chí", 0.02), ("Kháng", 0.02), ("Phù Lá", 0.02), ("La Hủ", 0.01),
    ("La Ha", 0.01), ("Pà Thẻn", 0.01), ("Lự", 0.01), ("Ngái", 0.01), ("Chứt", 0.01),
    ("Lô Lô", 0.01), ("Mảng", 0.01), ("Cơ Lao", 0.01), ("Bố Y", 0.01), ("Cống", 0.01),
    ("Si La", 0.01), ("Pu Péo", 0.01), ("Rơ Măm", 0.01), ("Brâu", 0.01), ("Ơ Đu", 0.01),
)

# Religion as recorded; "" is no religion (about 86 per cent, Census 2019).
RELIGIONS: tuple[tuple[str, float], ...] = (
    ("", 86.3), ("Phật giáo", 4.8), ("Công giáo", 6.1), ("Tin lành", 1.0),
    ("Cao Đài", 0.6), ("Phật giáo Hòa Hảo", 1.0), ("Hồi giáo", 0.1),
)

# ABO/Rh in Vietnam: Rh-negative is rare (well under 1 per cent).
BLOOD_TYPES: tuple[tuple[int, float], ...] = (
    (1, 41.7), (2, 0.1), (3, 21.2), (4, 0.05), (5, 30.8), (6, 0.05), (7, 6.0), (8, 0.02),
)

MOBILE_PREFIXES: tuple[str, ...] = (
    "032", "033", "034", "035", "036", "037", "038", "039", "070", "076", "077", "078", "079",
    "081", "082", "083", "084", "085", "086", "088", "089", "090", "091", "093", "094", "096",
    "097", "098",
)

URBAN_STREETS: tuple[str, ...] = (
    "Lê Lợi", "Trần Hưng Đạo", "Nguyễn Huệ", "Hai Bà Trưng", "Lý Thường Kiệt", "Quang Trung",
    "Nguyễn Trãi", "Lê Duẩn", "Điện Biên Phủ", "Hoàng Hoa Thám", "Phan Đình Phùng",
    "Nguyễn Văn Cừ", "Cách Mạng Tháng Tám", "Võ Thị Sáu", "Trần Phú", "Lạc Long Quân",
    "Nguyễn Thị Minh Khai", "Hùng Vương", "Bà Triệu", "Nguyễn Du", "Pasteur", "Lê Văn Sỹ",
)

ISSUING_AUTHORITY = "Cục Cảnh sát quản lý hành chính về trật tự xã hội"
