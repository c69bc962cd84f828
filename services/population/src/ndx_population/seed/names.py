"""Frequency tables for synthetic Vietnamese citizens (approximate public statistics).

Shares come from the 2019 Population and Housing Census (ethnic groups, religions), the
provinces' populations in Resolution 202/2025/QH15 (the July 2025 merger), common surname
surveys and general knowledge of naming customs; they are rounded and meant to look right in
aggregate, not to be quoted. Tables are written as "name weight, name weight" strings so that
they stay compact; `weighted` parses them.
"""

from __future__ import annotations


def weighted(text: str) -> tuple[tuple[str, float], ...]:
    """ "Nguyễn 38, Trần 11" -> (("Nguyễn", 38.0), ("Trần", 11.0)); names may contain spaces."""
    out = []
    for entry in text.split(","):
        name, weight = entry.strip().rsplit(" ", 1)
        out.append((name, float(weight)))
    return tuple(out)


def pairs(text: str) -> list[tuple[str, str]]:
    """ "01:8718 04:547" -> [("01", "8718"), ("04", "547")]."""
    out = []
    for entry in text.split():
        key, value = entry.split(":")
        out.append((key, value))
    return out


def plain(text: str) -> tuple[str, ...]:
    """ "Lê Lợi, Trần Phú" -> ("Lê Lợi", "Trần Phú")."""
    return tuple(entry.strip() for entry in text.split(","))


# -- provinces ----------------------------------------------------------------------------------

# Population in thousands of each 2025 province (Resolution 202/2025/QH15 and 2024 estimates).
PROVINCE_POPULATION: dict[str, float] = {
    code: float(n)
    for code, n in pairs(
        "01:8718 04:547 08:1865 11:644 12:513 14:1300 15:1779 19:1799 20:802 22:1381 "
        "24:3619 25:4023 31:4664 33:3568 37:4412 38:4357 40:3470 42:1323 44:1871 46:1433 "
        "48:3066 51:2162 52:3584 56:2244 66:3347 68:3873 75:4491 79:14003 80:3254 82:4370 "
        "86:4258 91:4952 92:4200 96:2607"
    )
}

# Where internal migrants hold temporary residence: the two metropoles and industrial belts.
MIGRANT_DESTINATIONS = weighted("79 45, 01 22, 75 10, 24 9, 31 5, 48 5, 33 4")

# New ward codes are old ward codes (the statistics office kept one code per merged ward), and
# old ward codes run in blocks per pre-2025 province. Each entry opens a block: the first old
# ward code and the 3-digit ID code of its province (Circular 07/2016). Derived from the
# statistics office's pre-2025 catalogue as packaged in vietnam-provinces 0.6.0; Hà Nội owns
# four blocks (its own, and the communes gained from Hòa Bình, Vĩnh Phúc and Hà Tây in 2008).
OLD_PROVINCE_BLOCKS: tuple[tuple[int, str], ...] = tuple(
    (int(first), code)
    for first, code in pairs(
        "1:001 688:002 1267:004 1834:006 2200:008 2635:010 3124:011 3386:012 3646:014 "
        "4249:015 4789:017 4927:001 4942:017 5431:019 5971:020 6649:022 7201:024 7888:025 "
        "8707:026 8973:001 9025:026 9163:027 9538:001 10507:030 11296:031 11950:033 "
        "12433:034 13285:035 13636:036 14320:037 14755:038 16663:040 18073:042 18853:044 "
        "19330:045 19750:046 20194:048 20335:049 21010:051 21550:052 22015:054 22327:056 "
        "22738:058 22739:056 22741:058 22915:060 23281:062 23557:064 24118:066 24611:067 "
        "24769:068 25195:070 25456:072 25741:074 25993:075 26506:077 26734:079 27685:080 "
        "28249:082 28756:083 29236:084 29542:086 29869:087 30280:089 30733:091 31117:092 "
        "31318:093 31498:094 31813:095 31999:096"
    )
)

# -- family names -------------------------------------------------------------------------------

# Kinh family names and their approximate shares (per cent).
SURNAMES = weighted(
    "Nguyễn 38, Trần 11, Lê 9.5, Phạm 7.1, Hoàng 4.1, Huỳnh 3.0, Phan 4.5, Vũ 3.9, Võ 2.5, "
    "Đặng 2.1, Bùi 2.0, Đỗ 1.4, Hồ 1.3, Ngô 1.3, Dương 1.0, Lý 0.5, Đinh 0.6, Trương 0.6, "
    "Đoàn 0.5, Lương 0.4, Mai 0.4, Trịnh 0.4, Cao 0.3, Lâm 0.3, Tô 0.2, Hà 0.4, Tạ 0.2, "
    "Kiều 0.1, Chu 0.2, Châu 0.2, Thái 0.2, Quách 0.1, La 0.1, Triệu 0.1, Lưu 0.2, Văn 0.1, "
    "Khúc 0.05, Tăng 0.1, Từ 0.1, Nghiêm 0.1, Vương 0.1, Phùng 0.2, Đào 0.4"
)

# Family names of minority groups whose names differ visibly from Kinh ones.
ETHNIC_SURNAMES: dict[str, tuple[tuple[str, float], ...]] = {
    "Tày": weighted(
        "Hoàng 5, Nông 5, Lục 2, Ma 2, Hà 2, Lương 2, Bế 2, Đàm 1, Triệu 1, Vi 1, Nguyễn 2, Lăng 1"
    ),
    "Nùng": weighted("Hoàng 5, Nông 4, Lương 2, Vi 2, Lăng 1, Chu 1, Mã 1, Lục 1, Sầm 1, Lý 1"),
    "Thái": weighted(
        "Lò 4, Lường 3, Quàng 2, Cầm 2, Điêu 1, Tòng 1, Vi 1, Hà 2, Lù 1, Mè 1, Bạc 1, Lộc 1"
    ),
    "Mường": weighted("Bùi 5, Đinh 4, Quách 2, Hà 2, Xa 1, Bạch 1, Nguyễn 1"),
    "H'Mông": weighted(
        "Giàng 4, Vàng 4, Sùng 3, Thào 3, Lý 2, Hạng 2, Mùa 2, Lầu 1, Vừ 2, Cứ 1, Hờ 1, Tráng 1"
    ),
    "Dao": weighted("Triệu 5, Bàn 4, Đặng 3, Lý 2, Chảo 2, Phùng 1, Tẩn 1, Lò 1"),
    "Khmer": weighted(
        "Thạch 4, Danh 3, Sơn 3, Kim 2, Lâm 1, Trà 1, Lý 1, Chau 2, Huỳnh 0.5, Dương 0.5"
    ),
    "Hoa": weighted(
        "Lâm 3, Trương 2, Lý 2, Quách 1, Hứa 1, Huỳnh 2, Châu 1, Mạc 1, Tăng 1, Diệp 1, Lưu 1, "
        "Trần 2, Hồng 0.5, Mã 1"
    ),
    "Chăm": weighted("Thành 2, Đàng 2, Thuận 1, Quảng 1, Lưu 1, Châu 1, Trượng 1, Báo 1, Thiên 1"),
    "Gia Rai": weighted("Ksor 4, Rơ Mah 3, Siu 3, Rơ Lan 2, Kpă 2, Nay 2, Rah Lan 1, Puih 1"),
    "Ê Đê": weighted(
        "Niê 4, Mlô 3, Êban 2, Byă 2, Ayun 2, Ksơr 2, Hmok 1, Kbuôr 1, Adrơng 1, Buôn Yă 1"
    ),
}

# Groups in which children take their mother's family name (the Ê Đê and Gia Rai are
# matrilineal) and, for the Ê Đê, the given name comes first ("Y Moan Niê", "H'Hen Niê").
MATRILINEAL = frozenset({"Ê Đê", "Gia Rai"})
GIVEN_NAME_FIRST = frozenset({"Ê Đê"})

# -- middle and given names ---------------------------------------------------------------------
# Two generations of fashion: "Văn"/"Thị" and short classic names dominate among people born
# before about 1980; later births increasingly get other middle names and newer given names.

MALE_MIDDLE_OLD = weighted(
    "Văn 60, Đức 6, Minh 4, Quang 4, Hữu 5, Thanh 3, Công 3, Xuân 3, Đình 4, Trọng 2, Quốc 2, "
    "Ngọc 2, Bá 2, Thế 2, Kim 1"
)
MALE_MIDDLE_NEW = weighted(
    "Văn 12, Minh 12, Đức 8, Gia 8, Quang 5, Hoàng 5, Tuấn 4, Anh 5, Quốc 5, Bảo 6, Đăng 4, "
    "Hữu 4, Thanh 3, Công 3, Trung 3, Nhật 3, Thành 3, Khánh 2, Hải 2"
)
FEMALE_MIDDLE_OLD = weighted(
    "Thị 75, Ngọc 5, Thu 4, Thanh 4, Kim 3, Hồng 2, Minh 1, Xuân 2, Bích 1, Mỹ 1, Thúy 1"
)
FEMALE_MIDDLE_NEW = weighted(
    "Thị 15, Ngọc 9, Thu 4, Thanh 4, Minh 5, Phương 4, Khánh 5, Bảo 6, Gia 4, Hà 3, Thảo 3, "
    "Quỳnh 3, Diệu 2, Mai 3, Tú 2, Hoài 2, Thùy 3, Kim 2, Mỹ 3, Hồng 2, Yến 2"
)
MALE_GIVEN_OLD = weighted(
    "Hùng 5, Dũng 5, Tuấn 4, Thắng 4, Cường 4, Sơn 4, Hải 4, Bình 4, Thành 4, Long 3, Trung 3, "
    "Vinh 3, Hưng 3, Thịnh 2, Lộc 2, Tài 2, Hòa 3, Quang 2, Toàn 2, Nghĩa 2, Tâm 2, Hiếu 2, "
    "Đức 3, Minh 3, Nam 3, Thanh 2, Tùng 2, Việt 2, Phong 2, Chiến 2, Thuận 2, Khải 1, Lâm 1, "
    "Hoàng 2, Kiên 1, Quý 1, Tiến 2, Phúc 1"
)
MALE_GIVEN_NEW = weighted(
    "Huy 5, Khôi 4, Bảo 4, Minh 5, Nam 4, Duy 4, Khoa 3, Khang 3, Phúc 4, Đạt 4, Quân 3, An 4, "
    "Kiên 2, Phong 3, Long 3, Hải 3, Hiếu 3, Tuấn 3, Anh 4, Dũng 2, Lâm 2, Đăng 2, Thịnh 2, "
    "Vinh 2, Nhân 2, Tài 2, Trí 2, Tùng 2, Sơn 2, Hưng 2, Thành 2, Khánh 2, Việt 2, Hoàng 2"
)
FEMALE_GIVEN_OLD = weighted(
    "Hoa 4, Lan 5, Huệ 3, Cúc 2, Mai 4, Đào 2, Hồng 3, Nga 3, Loan 3, Thủy 4, Tuyết 2, Liên 3, "
    "Hằng 4, Hạnh 3, Dung 3, Nhung 3, Xuân 2, Hương 5, Hà 4, Yến 3, Oanh 2, Thảo 3, Phương 3, "
    "Vân 3, Thu 3, Bình 2, Hiền 3, Tâm 2, Hải 1, Lý 1, Sen 1, Thoa 2, Lụa 1, Nguyệt 2"
)
FEMALE_GIVEN_NEW = weighted(
    "Anh 6, Linh 6, Vy 4, Nhi 4, Ngân 3, An 3, Chi 3, Hân 3, Thư 3, My 3, Trâm 2, Thảo 4, "
    "Ngọc 3, Trang 5, Giang 3, Hà 3, Huyền 3, Quỳnh 3, Uyên 3, Phương 3, Hương 3, Mai 3, "
    "Diệp 1, Như 2, Tiên 2, Châu 2, Nhung 1, Hằng 2, Yến 2, Thủy 2, Tú 1, Trinh 2, Hiền 2"
)

# Names of groups whose naming differs from the Kinh pattern. The H'Mông give men the middle
# name "A", "Seo" or "Mí"; Ê Đê and Gia Rai given names begin with "Y" (men) or "H'" (women).
HMONG_MALE_MIDDLE = weighted("A 40, Seo 15, Mí 10, Văn 35")
HMONG_MALE_GIVEN = weighted(
    "Páo 3, Chứ 3, Dính 2, Sử 2, Lử 2, Pó 2, Chù 2, Dế 1, Sình 2, Chá 2, Tủa 1, Chống 1, Giống 1, "
    "Vàng 1, Mua 1"
)
HMONG_FEMALE_GIVEN = weighted(
    "Mai 2, Dợ 2, Mỷ 2, Sua 2, Chia 2, Súa 1, Pà 2, Dung 1, Lan 1, Say 1, Mỉ 1, Sủa 1, Dính 1, "
    "Mẩy 1"
)
HIGHLAND_MALE_GIVEN = weighted(
    "Y Moan 1, Y Bhim 1, Y Sơn 2, Y Khuê 1, Y Nhuê 1, Y Jut 1, Y Ngông 1, Y Bih 1, Y Phong 1, "
    "Y Thái 1, Y Blin 1, Y Hriêng 1, Y Dơk 1, Y Tuấn 1, Y Hùng 1"
)
HIGHLAND_FEMALE_GIVEN = weighted(
    "H'Hen 1, H'Linh 2, H'Nga 1, H'Yơn 1, H'Bia 1, H'Mai 1, H'Jên 1, H'Luy 1, H'Nhi 1, "
    "H'Xuân 1, H'Lơi 1, H'Nhuy 1, H'Ngọc 1"
)

# -- ethnic groups and religions ----------------------------------------------------------------

# The 54 ethnic groups: national share (per cent, Census 2019; the smallest rounded up so that
# they appear) and the 2025 provinces where they live with relative densities. Kinh fill what
# the minorities leave in each province.
ETHNIC_GROUPS: tuple[tuple[str, float, str], ...] = (
    ("Tày", 1.92, "04:3 20:3 08:2 19:1.5 15:1 22:0.3 24:0.3"),
    ("Thái", 1.89, "14:5 11:4 12:3 38:0.8 40:0.8 15:0.5 25:0.2"),
    ("Mường", 1.31, "25:2 38:1 37:0.3 14:0.3"),
    ("Khmer", 1.37, "92:3 86:3 91:2 96:1.5 79:0.05"),
    ("Hoa", 0.78, "79:3 92:0.5 91:0.5 75:0.8 22:0.2 96:0.5"),
    ("Nùng", 1.08, "20:4 04:4 08:1 19:0.8 15:0.5 24:0.5 66:0.3 68:0.2"),
    ("H'Mông", 1.18, "08:3 11:4 12:3 14:2 15:2 40:0.3 38:0.2 04:1"),
    ("Dao", 0.92, "08:2 15:2 04:1 12:1 19:1 22:0.5 20:0.5 25:0.3"),
    ("Gia Rai", 0.54, "52:1 51:0.1"),
    ("Ê Đê", 0.41, "66:1"),
    ("Ba Na", 0.30, "52:1 51:0.5"),
    ("Sán Chay", 0.21, "08:2 19:1 24:0.5 22:0.2"),
    ("Chăm", 0.18, "56:3 68:1 91:0.5 79:0.1"),
    ("Cơ Ho", 0.21, "68:1"),
    ("Xơ Đăng", 0.22, "51:3 48:0.3"),
    ("Sán Dìu", 0.19, "19:1 24:1 25:1 22:0.5"),
    ("Hrê", 0.15, "51:1"),
    ("Ra Glai", 0.16, "56:1 68:0.2"),
    ("Mnông", 0.13, "66:0.5 68:1"),
    ("Thổ", 0.09, "40:1 38:0.3"),
    ("Xtiêng", 0.10, "75:1"),
    ("Khơ Mú", 0.09, "40:1 11:1 14:0.5"),
    ("Bru - Vân Kiều", 0.10, "44:1"),
    ("Cơ Tu", 0.08, "48:1 46:0.5"),
    ("Giáy", 0.07, "15:1 12:0.5 08:0.5"),
    ("Tà Ôi", 0.05, "46:1 44:0.5"),
    ("Mạ", 0.05, "68:1 75:0.2"),
    ("Giẻ Triêng", 0.07, "51:1 48:0.5"),
    ("Co", 0.04, "51:1"),
    ("Chơ Ro", 0.03, "75:1"),
    ("Xinh Mun", 0.03, "14:1 11:0.5"),
    ("Hà Nhì", 0.03, "12:1 11:1 15:0.5"),
    ("Chu Ru", 0.02, "68:1"),
    ("Lào", 0.02, "11:1 12:1 14:0.5"),
    ("La Chí", 0.02, "08:1"),
    ("Kháng", 0.02, "14:1 11:0.5 12:0.5"),
    ("Phù Lá", 0.02, "15:1 08:0.3"),
    ("La Hủ", 0.01, "12:1"),
    ("La Ha", 0.01, "14:1"),
    ("Pà Thẻn", 0.01, "08:1"),
    ("Lự", 0.01, "12:1"),
    ("Ngái", 0.01, "22:1 24:0.5"),
    ("Chứt", 0.01, "44:1"),
    ("Lô Lô", 0.01, "04:1 08:1"),
    ("Mảng", 0.01, "12:1"),
    ("Cơ Lao", 0.01, "08:1"),
    ("Bố Y", 0.01, "15:1 08:1"),
    ("Cống", 0.01, "11:1"),
    ("Si La", 0.01, "12:1 11:1"),
    ("Pu Péo", 0.01, "08:1"),
    ("Rơ Măm", 0.01, "51:1"),
    ("Brâu", 0.01, "51:1"),
    ("Ơ Đu", 0.01, "40:1"),
)
MAJORITY = "Kinh"

# Religions as recorded ("" is none, about 86 per cent): national share and where they are
# stronger (relative densities; unnamed provinces get the default after "*").
RELIGIONS: tuple[tuple[str, float, str], ...] = (
    ("Công giáo", 6.1, "*:0.5 37:4 75:4 79:1.5 68:1.5 66:1.2 51:1 40:1 38:0.8 42:0.8 44:0.6"),
    ("Phật giáo", 4.8, "*:0.8 79:2 46:2 92:1.5 86:1.5 91:1.2 48:1.2"),
    ("Tin lành", 1.0, "*:0.3 66:3 52:3 68:2 51:1 08:2 11:2 12:2 14:1 15:1"),
    ("Phật giáo Hòa Hảo", 1.0, "*:0 91:10 82:3 92:2 86:1"),
    ("Cao Đài", 0.6, "*:0.05 80:8 79:1 82:1.5 86:1.5 92:1.5 91:1.5"),
    ("Hồi giáo", 0.1, "*:0 91:2 79:1 56:0.5"),
)

# Groups whose faith differs from their province's: Theravada Khmer, Cham Muslims and
# Brahmanists, Protestant and Catholic highlanders and H'Mông.
ETHNIC_RELIGIONS: dict[str, tuple[tuple[str, float], ...]] = {
    "Khmer": weighted("Phật giáo 90, _ 10"),
    "Chăm": weighted("Hồi giáo 35, Bà-la-môn 40, _ 25"),
    "Hoa": weighted("Phật giáo 35, Công giáo 5, _ 60"),
    "Ê Đê": weighted("Tin lành 40, Công giáo 20, _ 40"),
    "Gia Rai": weighted("Tin lành 30, Công giáo 25, _ 45"),
    "Ba Na": weighted("Công giáo 45, Tin lành 10, _ 45"),
    "Mnông": weighted("Tin lành 35, Công giáo 20, _ 45"),
    "Cơ Ho": weighted("Tin lành 30, Công giáo 40, _ 30"),
    "Xơ Đăng": weighted("Công giáo 35, _ 65"),
    "H'Mông": weighted("Tin lành 25, Công giáo 5, _ 70"),
}
NO_RELIGION = "_"  # stands for "" in the tables above (a name cannot be empty there)

# ABO/Rh in Vietnam (BloodType numbers): O 42, B 31, A 21, AB 6; Rh-negative is rare.
BLOOD_TYPES = weighted("1 41.7, 2 0.1, 3 21.2, 4 0.05, 5 30.8, 6 0.05, 7 6.0, 8 0.02")

# -- contact ------------------------------------------------------------------------------------

# Mobile prefixes of Viettel (03x, 086, 09x), MobiFone (07x, 089, 090, 093), VinaPhone (08x,
# 091, 094), Vietnamobile (05x) and Gmobile (059).
MOBILE_PREFIXES = plain(
    "032, 033, 034, 035, 036, 037, 038, 039, 052, 056, 058, 059, 070, 076, 077, 078, 079, "
    "081, 082, 083, 084, 085, 086, 088, 089, 090, 091, 093, 094, 096, 097, 098"
)
EMAIL_DOMAINS = weighted("gmail.com 82, yahoo.com 7, outlook.com 4, icloud.com 3, hotmail.com 4")

# -- streets and hamlets ------------------------------------------------------------------------

STREETS = plain(
    "Lê Lợi, Trần Hưng Đạo, Nguyễn Huệ, Hai Bà Trưng, Lý Thường Kiệt, Quang Trung, Nguyễn Trãi, "
    "Lê Duẩn, Điện Biên Phủ, Hoàng Hoa Thám, Phan Đình Phùng, Nguyễn Văn Cừ, Cách Mạng Tháng Tám, "
    "Võ Thị Sáu, Trần Phú, Lạc Long Quân, Nguyễn Thị Minh Khai, Hùng Vương, Bà Triệu, Nguyễn Du, "
    "Lê Thánh Tông, Nguyễn Chí Thanh, Phạm Văn Đồng, Nguyễn Văn Linh, Võ Nguyên Giáp, "
    "Tôn Đức Thắng, Lý Thái Tổ, Ngô Quyền, Phan Chu Trinh, Phan Bội Châu, Nguyễn Thái Học, "
    "Lê Hồng Phong, Trường Chinh, Nguyễn Văn Trỗi, Nguyễn Đình Chiểu, Bạch Đằng, Chu Văn An, "
    "Hàm Nghi, Lê Lai, Nguyễn Công Trứ, Phạm Ngũ Lão, Trần Quang Khải, Lý Tự Trọng, Yết Kiêu"
)
HAMLET_NAMES = plain(
    "Đông, Tây, Nam, Bắc, Trung, Thượng, Hạ, Tân Lập, Tân Phú, An Bình, Phú Hòa, Bình An, "
    "Hòa Bình, Thắng Lợi, Đoàn Kết, Quyết Tiến, Tiền Phong, Đồng Tâm, Hợp Nhất, Phú Lợi, "
    "Long Hòa, Mỹ Thạnh, Tân Hòa, Phú Thạnh, An Lạc, Vĩnh Phú, Đồng Văn, Yên Thịnh, Thanh Bình"
)
VILLAGE_NAMES_NORTH_HILLS = plain(
    "Nà Phát, Nà Tấu, Pá Khoang, Huổi Lóng, Co Mạ, Nậm Cang, Phiêng Luông, Khuổi Cuồng, Tả Van, "
    "Sín Chải, Hua Ma, Nà Hang, Bản Phố, Lũng Pù, Khau Vai, Nặm Đăm"
)
VILLAGE_NAMES_HIGHLANDS = plain(
    "Ko Tam, Ea Kmăt, Kon Klor, Plei Ốp, Plei Phun, Đung, Ako Dhông, Kon Jơ Dri, Tơ Nel, Ea Nao"
)
ISSUERS = (
    # (first day, issuing authority) of the citizen identity card, in force from that day.
    ("2016-01-01", "Cục Cảnh sát ĐKQL cư trú và DLQG về dân cư"),
    ("2021-01-01", "Cục Cảnh sát quản lý hành chính về trật tự xã hội"),
    ("2024-07-01", "Bộ Công an"),
)
