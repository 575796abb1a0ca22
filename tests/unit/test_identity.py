"""identify() over property sets of real phones, plus the small probe helpers.

The property sets are the SoC-related keys of public getprop / cpuinfo dumps of the
phones named (values as those phones report them, e.g. Samsung's ``exynos5`` platform
shared by a decade of Exynos chips, Xiaomi's ``msm8953`` platform on a Snapdragon 450).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field

import pytest

from device_agent.identity import (
    DATA_FILE,
    SocIdentity,
    cpuinfo_hardware,
    gpu_from_surfaceflinger,
    identify,
    load_table,
    parse_cpu_max_freqs,
    parse_meminfo,
)


def hw(line: str) -> str:
    """A /proc/cpuinfo of an arm64 Android kernel that keeps the Hardware line."""
    return (
        "processor\t: 0\nBogoMIPS\t: 38.40\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32\n"
        "CPU implementer\t: 0x51\nCPU architecture: 8\nCPU part\t: 0x805\n\n"
        f"Hardware\t: {line}\n"
    )


@dataclass
class Phone:
    label: str
    props: dict[str, str]
    name: str
    vendor: str
    cpuinfo: str | None = None
    freqs: list[int] = field(default_factory=list)
    ambiguous: bool = False
    codename: str | None = None


PHONES = [
    Phone(
        "Pixel 3",
        {"ro.board.platform": "sdm845", "ro.hardware": "blueline"},
        "Snapdragon 845",
        "Qualcomm",
        hw("Qualcomm Technologies, Inc SDM845"),
        codename="sdm845",
    ),
    Phone("Pixel 3a", {"ro.board.platform": "sdm670", "ro.hardware": "sargo"}, "Snapdragon 670", "Qualcomm"),
    Phone(
        "Pixel 4",
        {"ro.board.platform": "msmnile", "ro.hardware": "flame"},
        "Snapdragon 855",
        "Qualcomm",
        freqs=[1785600] * 4 + [2419200] * 3 + [2841600],
    ),
    Phone(
        "Pixel 5",
        {"ro.board.platform": "lito", "ro.hardware": "redfin"},
        "Snapdragon 765G",
        "Qualcomm",
        freqs=[1804800] * 6 + [2208000, 2400000],
    ),
    Phone(
        "Pixel 6",
        {
            "ro.board.platform": "gs101",
            "ro.hardware": "oriole",
            "ro.soc.manufacturer": "Google",
            "ro.soc.model": "Tensor",
        },
        "Tensor",
        "Google",
        codename="gs101",
    ),
    Phone(
        "Pixel 7",
        {
            "ro.board.platform": "gs201",
            "ro.hardware": "panther",
            "ro.soc.manufacturer": "Google",
            "ro.soc.model": "Tensor G2",
        },
        "Tensor G2",
        "Google",
    ),
    Phone(
        "Pixel 8 Pro",
        {
            "ro.board.platform": "zuma",
            "ro.hardware": "zuma",
            "ro.soc.manufacturer": "Google",
            "ro.soc.model": "Tensor G3",
        },
        "Tensor G3",
        "Google",
        codename="zuma",
    ),
    Phone(
        "Pixel 9",
        {"ro.board.platform": "zumapro", "ro.hardware": "tokay", "ro.soc.model": "Tensor G4"},
        "Tensor G4",
        "Google",
    ),
    Phone(
        "Galaxy S6",
        {
            "ro.board.platform": "exynos5",
            "ro.hardware": "samsungexynos7420",
            "ro.chipname": "exynos7420",
            "ro.product.board": "universal7420",
        },
        "Exynos 7420",
        "Samsung",
    ),
    Phone(
        "Galaxy S6 (platform and cpuinfo only)",
        {"ro.board.platform": "exynos5"},
        "Exynos 7420",
        "Samsung",
        hw("SAMSUNG Exynos7420"),
    ),
    Phone(
        "Galaxy S7 (SM-G930F)",
        {"ro.board.platform": "exynos5", "ro.chipname": "exynos8890", "ro.hardware": "samsungexynos8890"},
        "Exynos 8890",
        "Samsung",
    ),
    Phone(
        "Galaxy S9 (SM-G960F)",
        {
            "ro.board.platform": "exynos5",
            "ro.chipname": "exynos9810",
            "ro.hardware": "samsungexynos9810",
            "ro.product.board": "universal9810",
        },
        "Exynos 9810",
        "Samsung",
        codename="exynos9810",
    ),
    Phone(
        "Galaxy S9 (SM-G960U)",
        {"ro.board.platform": "sdm845", "ro.hardware": "qcom", "ro.product.board": "sdm845"},
        "Snapdragon 845",
        "Qualcomm",
    ),
    Phone(
        "Galaxy S10 (SM-G973F)",
        {"ro.board.platform": "exynos5", "ro.chipname": "exynos9820", "ro.product.board": "universal9820"},
        "Exynos 9820",
        "Samsung",
    ),
    Phone(
        "Galaxy S10 (SM-G973U)",
        {"ro.board.platform": "msmnile", "ro.hardware": "qcom"},
        "Snapdragon 855",
        "Qualcomm",
        hw("Qualcomm Technologies, Inc SM8150"),
        freqs=[1785600] * 4 + [2419200] * 3 + [2841600],
    ),
    Phone(
        "Galaxy S21 (SM-G991B)",
        {
            "ro.board.platform": "exynos2100",
            "ro.hardware": "exynos2100",
            "ro.soc.manufacturer": "Samsung",
            "ro.soc.model": "S5E9840",
        },
        "Exynos 2100",
        "Samsung",
    ),
    Phone(
        "Galaxy S21 (SM-G991U)",
        {
            "ro.board.platform": "lahaina",
            "ro.hardware": "qcom",
            "ro.soc.manufacturer": "QTI",
            "ro.soc.model": "SM8350",
        },
        "Snapdragon 888",
        "Qualcomm",
        freqs=[1804800] * 4 + [2419200] * 3 + [2841600],
    ),
    Phone(
        "Galaxy S22 (SM-S901B)",
        {
            "ro.board.platform": "s5e9925",
            "ro.hardware": "s5e9925",
            "ro.soc.manufacturer": "Samsung",
            "ro.soc.model": "S5E9925",
        },
        "Exynos 2200",
        "Samsung",
    ),
    Phone(
        "Galaxy S22 (SM-S901U)",
        {"ro.board.platform": "taro", "ro.soc.manufacturer": "QTI", "ro.soc.model": "SM8450"},
        "Snapdragon 8 Gen 1",
        "Qualcomm",
        freqs=[1785600] * 4 + [2496000] * 3 + [2995200],
    ),
    Phone(
        "Galaxy S23",
        {"ro.board.platform": "kalama", "ro.soc.manufacturer": "QTI", "ro.soc.model": "SM8550"},
        "Snapdragon 8 Gen 2 for Galaxy",
        "Qualcomm",
        freqs=[2016000] * 3 + [2803200] * 4 + [3360000],
    ),
    Phone(
        "Galaxy S24 (SM-S921B)",
        {"ro.board.platform": "s5e9945", "ro.soc.manufacturer": "Samsung", "ro.soc.model": "S5E9945"},
        "Exynos 2400",
        "Samsung",
    ),
    Phone(
        "Galaxy S24 (chipname only)",
        {"ro.board.platform": "exynos2400", "ro.chipname": "exynos2400", "ro.soc.model": "Exynos 2400"},
        "Exynos 2400",
        "Samsung",
    ),
    Phone(
        "Galaxy S24 Ultra",
        {"ro.board.platform": "pineapple", "ro.soc.manufacturer": "QTI", "ro.soc.model": "SM8650"},
        "Snapdragon 8 Gen 3 for Galaxy",
        "Qualcomm",
        freqs=[2265600] * 3 + [3148800] * 4 + [3393600],
    ),
    Phone(
        "Galaxy S25",
        {"ro.board.platform": "sun", "ro.soc.manufacturer": "QTI", "ro.soc.model": "SM8750"},
        "Snapdragon 8 Elite for Galaxy",
        "Qualcomm",
        freqs=[3532800] * 6 + [4473600] * 2,
    ),
    Phone(
        "OnePlus 13",
        {"ro.board.platform": "sun", "ro.soc.manufacturer": "QTI", "ro.soc.model": "SM8750"},
        "Snapdragon 8 Elite",
        "Qualcomm",
        freqs=[3532800] * 6 + [4320000] * 2,
    ),
    Phone(
        "Galaxy A12 (SM-A125F)",
        {"ro.board.platform": "mt6765", "ro.hardware": "mt6765"},
        "Helio P35",
        "MediaTek",
        hw("MT6765V/CB"),
        freqs=[1800000] * 4 + [2301000] * 4,
    ),
    Phone(
        "Galaxy A12 Nacho (SM-A127F)",
        {"ro.board.platform": "exynos850", "ro.hardware": "exynos850", "ro.product.board": "universal3830"},
        "Exynos 850",
        "Samsung",
    ),
    Phone("Galaxy A52", {"ro.board.platform": "atoll", "ro.hardware": "qcom"}, "Snapdragon 720G", "Qualcomm"),
    Phone(
        "Redmi Note 4 (nikel)",
        {"ro.board.platform": "mt6797", "ro.hardware": "mt6797", "ro.mediatek.platform": "MT6797"},
        "Helio X20",
        "MediaTek",
        hw("MT6797"),
    ),
    Phone(
        "Redmi Note 4X (mido)",
        {"ro.board.platform": "msm8953", "ro.hardware": "qcom"},
        "Snapdragon 625",
        "Qualcomm",
        hw("Qualcomm Technologies, Inc MSM8953"),
        freqs=[2016000] * 8,
    ),
    Phone(
        "Redmi 5 (rosy)",
        {"ro.board.platform": "msm8953", "ro.hardware": "qcom"},
        "Snapdragon 450",
        "Qualcomm",
        hw("Qualcomm Technologies, Inc SDM450"),
    ),
    Phone(
        "Redmi Note 8 (ginkgo)",
        {"ro.board.platform": "trinket", "ro.hardware": "qcom"},
        "Snapdragon 665",
        "Qualcomm",
        hw("Qualcomm Technologies, Inc TRINKET"),
    ),
    Phone(
        "Redmi Note 11 (spes)",
        {"ro.board.platform": "bengal", "ro.soc.manufacturer": "QTI", "ro.soc.model": "SM6225"},
        "Snapdragon 680",
        "Qualcomm",
    ),
    Phone(
        "Moto G5 Plus (potter)",
        {"ro.board.platform": "msm8953", "ro.hardware": "qcom"},
        "Snapdragon 625",
        "Qualcomm",
        hw("Qualcomm Technologies, Inc MSM8953"),
        freqs=[2016000] * 8,
    ),
    Phone(
        "OnePlus 6",
        {"ro.board.platform": "sdm845", "ro.hardware": "qcom"},
        "Snapdragon 845",
        "Qualcomm",
        hw("Qualcomm Technologies, Inc SDM845"),
    ),
    Phone(
        "OnePlus 7 Pro",
        {"ro.board.platform": "msmnile", "ro.hardware": "qcom"},
        "Snapdragon 855",
        "Qualcomm",
        hw("Qualcomm Technologies, Inc SM8150"),
        freqs=[1785600] * 4 + [2419200] * 3 + [2841600],
    ),
    Phone(
        "OnePlus 7T",
        {"ro.board.platform": "msmnile", "ro.hardware": "qcom"},
        "Snapdragon 855+",
        "Qualcomm",
        hw("Qualcomm Technologies, Inc SM8150"),
        freqs=[1785600] * 4 + [2419200] * 3 + [2956800],
    ),
    Phone(
        "OnePlus 9",
        {"ro.board.platform": "lahaina", "ro.soc.manufacturer": "QTI", "ro.soc.model": "SM8350"},
        "Snapdragon 888",
        "Qualcomm",
        freqs=[1804800] * 4 + [2419200] * 3 + [2841600],
    ),
    Phone(
        "Poco F3 (alioth)",
        {"ro.board.platform": "kona", "ro.soc.manufacturer": "QTI", "ro.soc.model": "SM8250"},
        "Snapdragon 870",
        "Qualcomm",
        freqs=[1804800] * 4 + [2419200] * 3 + [3187200],
    ),
    Phone(
        "Huawei P20",
        {"ro.board.platform": "kirin970", "ro.hardware": "kirin970"},
        "Kirin 970",
        "HiSilicon",
        hw("Hisilicon Kirin970"),
    ),
    Phone(
        "Huawei Mate 20",
        {"ro.board.platform": "kirin980", "ro.hardware": "kirin980"},
        "Kirin 980",
        "HiSilicon",
    ),
    Phone(
        "Huawei Mate 9", {"ro.board.platform": "hi3660", "ro.hardware": "hi3660"}, "Kirin 960", "HiSilicon"
    ),
    Phone(
        "realme Narzo 50A Prime", {"ro.board.platform": "ums9230", "ro.soc.model": "T612"}, "T612", "Unisoc"
    ),
    Phone(
        "realme Narzo 30A (T618)",
        {"ro.board.platform": "ums512", "ro.hardware": "ums512"},
        "T618",
        "Unisoc",
        freqs=[1820000] * 6 + [2000000] * 2,
    ),
    Phone(
        "Redmi K40 Gaming (ares)",
        {"ro.board.platform": "mt6893", "ro.soc.manufacturer": "Mediatek", "ro.soc.model": "MT6893"},
        "Dimensity 1200",
        "MediaTek",
        freqs=[2000000] * 4 + [2600000] * 3 + [3000000],
    ),
    Phone(
        "Xiaomi 12 Pro Dimensity",
        {"ro.board.platform": "mt6983", "ro.soc.model": "MT6983"},
        "Dimensity 9000",
        "MediaTek",
        freqs=[1800000] * 4 + [2850000] * 3 + [3050000],
    ),
    Phone(
        "Redmi 6A",
        {"ro.hardware": "mt6762", "ro.board.platform": "mt6762"},
        "Helio P22",
        "MediaTek",
        hw("MT6762V/WB"),
    ),
]


@pytest.mark.parametrize("phone", PHONES, ids=[p.label for p in PHONES])
def test_real_phones(phone: Phone) -> None:
    soc = identify(phone.props, phone.cpuinfo, phone.freqs)
    assert (soc.name, soc.vendor) == (phone.name, phone.vendor), soc
    assert soc.known
    assert soc.ambiguous == phone.ambiguous, soc
    if phone.codename:
        assert soc.codename == phone.codename
    assert soc.source is not None


def test_there_are_many_phones() -> None:
    assert len(PHONES) >= 30


def test_shared_platform_without_more_information_is_base_and_ambiguous() -> None:
    soc = identify({"ro.board.platform": "exynos5"})
    assert soc.name == "Exynos 7420" and soc.ambiguous and soc.known
    assert "Exynos 9810" in soc.candidates and len(soc.candidates) > 5


def test_xiaomi_mi_9_without_frequencies_is_855_but_ambiguous() -> None:
    soc = identify(
        {"ro.board.platform": "msmnile", "ro.hardware": "qcom"}, hw("Qualcomm Technologies, Inc SM8150")
    )
    assert soc.name == "Snapdragon 855" and soc.ambiguous
    assert soc.candidates == ["Snapdragon 855", "Snapdragon 855+"]


def test_frequency_picks_the_variant_and_says_so() -> None:
    soc = identify({"ro.board.platform": "kona"}, None, [1804800, 2419200, 3091200])
    assert soc.name == "Snapdragon 865+" and soc.model == "SM8250-AB" and not soc.ambiguous
    assert soc.source == "max_freq"


def test_frequency_far_from_every_variant_stays_ambiguous() -> None:
    soc = identify({"ro.board.platform": "kona"}, None, [1200000])
    assert soc.name == "Snapdragon 865" and soc.ambiguous


def test_redmi_note_4x_without_freqs_is_ambiguous_625() -> None:
    soc = identify({"ro.board.platform": "msm8953"}, hw("Qualcomm Technologies, Inc MSM8953"))
    assert soc.name == "Snapdragon 625" and soc.ambiguous
    assert "Snapdragon 626" in soc.candidates and "Snapdragon 450" not in soc.candidates


def test_a_specific_property_wins_over_a_conflicting_platform() -> None:
    # a 778G phone reporting the 888's platform name: ro.soc.model is the kernel's own id
    soc = identify({"ro.board.platform": "lahaina", "ro.soc.model": "SM7325"})
    assert soc.name == "Snapdragon 778G" and not soc.ambiguous and soc.source == "ro.soc.model"


def test_helio_g95_and_g90t_share_mt6785() -> None:
    soc = identify({"ro.board.platform": "mt6785"})
    assert soc.vendor == "MediaTek" and soc.ambiguous and set(soc.candidates) == {"Helio G90T", "Helio G95"}


def test_unknown_chip_keeps_raw_codename() -> None:
    soc = identify({"ro.board.platform": "xring01", "ro.hardware": "xring01"})
    assert soc == SocIdentity(vendor=None, name="xring01", codename="xring01", source="ro.board.platform")
    assert not soc.known


def test_unknown_qualcomm_part_gets_vendor() -> None:
    soc = identify({"ro.soc.manufacturer": "QTI", "ro.soc.model": "SM9999", "ro.hardware": "qcom"})
    assert (soc.vendor, soc.name, soc.codename, soc.known) == ("Qualcomm", "SM9999", "sm9999", False)


def test_unknown_mediatek_from_prefix() -> None:
    soc = identify({"ro.board.platform": "mt6999"})
    assert soc.vendor == "MediaTek" and not soc.known and soc.codename == "mt6999"


def test_nothing_at_all_never_raises() -> None:
    soc = identify({})
    assert not soc.known and soc.name == "unknown"
    assert not identify({"ro.board.platform": "   "}, "").known
    assert not identify({"ro.hardware": "qcom"}, "garbage\n").known


def test_virtual_phone_profiles_are_known_chips() -> None:
    """Every virtual phone models a real one, so its chip must be in the table."""
    try:
        from device_agent.virtual.profile import list_profiles, load_profile
    except ImportError:
        pytest.skip("no virtual phone profiles yet")
    names = list_profiles()
    if not names:
        pytest.skip("no virtual phone profiles yet")
    for name in names:
        p = load_profile(name)
        freqs = p.core_max_freqs() if callable(p.core_max_freqs) else p.core_max_freqs
        soc = identify(p.props, p.cpuinfo, freqs)
        assert soc.known, (name, soc)
        assert not soc.ambiguous, (name, soc)


# ---- the data file -------------------------------------------------------------------------


def test_data_file_is_consistent() -> None:
    raw = tomllib.loads(DATA_FILE.read_text())["soc"]
    table = load_table()
    assert len(table) == len(raw) > 150
    for soc in table:
        assert soc.vendor in {"Qualcomm", "Samsung", "MediaTek", "Google", "HiSilicon", "Unisoc"}
        assert soc.keys and all(k == k.lower() for k in soc.keys)
        assert soc.max_freq_khz is None or 500_000 < soc.max_freq_khz < 5_000_000
    # a key shared by chips of one family has at most one base
    families: dict[str, list[str]] = {}
    for soc in table:
        families.setdefault(soc.codename, []).append(soc.name)
    by_key: dict[str, list] = {}
    for soc in table:
        for k in soc.keys:
            by_key.setdefault(k, []).append(soc)
    for k, socs in by_key.items():
        assert sum(s.base for s in socs) <= 1, k


@pytest.mark.parametrize(
    ("codename", "name"),
    [
        ("msmnile", "Snapdragon 855"),
        ("kona", "Snapdragon 865"),
        ("lahaina", "Snapdragon 888"),
        ("taro", "Snapdragon 8 Gen 1"),
        ("kalama", "Snapdragon 8 Gen 2"),
        ("pineapple", "Snapdragon 8 Gen 3"),
        ("sun", "Snapdragon 8 Elite"),
        ("sdm660", "Snapdragon 660"),
        ("trinket", "Snapdragon 665"),
        ("s5e9925", "Exynos 2200"),
        ("s5e9945", "Exynos 2400"),
        ("mt6765", "Helio P35"),
        ("mt6893", "Dimensity 1200"),
        ("mt6983", "Dimensity 9000"),
        ("gs101", "Tensor"),
        ("gs201", "Tensor G2"),
        ("zuma", "Tensor G3"),
        ("zumapro", "Tensor G4"),
        ("laguna", "Tensor G5"),
        ("hi3660", "Kirin 960"),
        ("ums512", "T618"),
        ("universal7420", "Exynos 7420"),
    ],
)
def test_platform_codenames(codename: str, name: str) -> None:
    assert identify({"ro.board.platform": codename}).name == name


# ---- helpers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dump", "gpu"),
    [
        (
            "Build configuration: [sf PRESENT_TIME_OFFSET=0]\n"
            "GLES: Qualcomm, Adreno (TM) 640, OpenGL ES 3.2 V@415.0 (GIT@8e59954, I0be83d0d26, 1569300387) "
            "(Date:09/23/19)\nlog opengl calls: 0\n",
            "Adreno (TM) 640",
        ),
        (
            "  GLES: ARM, Mali-G78, OpenGL ES 3.2 v1.r26p0-01eac0.2ad4a4f2d8cd0ff4b5aaeb9bbbcfdf14\n",
            "Mali-G78",
        ),
        (
            "GLES: Imagination Technologies, PowerVR Rogue GE8320, OpenGL ES 3.2 build 1.13@5776728\n",
            "PowerVR Rogue GE8320",
        ),
        (
            "GLES: Google (Vulkan), ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device)), OpenGL ES 3.2\n",
            "ANGLE (Google",
        ),
        ("Display 0 HWC layers:\n", None),
        ("", None),
    ],
)
def test_gpu_from_surfaceflinger(dump: str, gpu: str | None) -> None:
    assert gpu_from_surfaceflinger(dump) == gpu


def test_parse_meminfo() -> None:
    assert parse_meminfo("MemTotal:        7782400 kB\nMemFree:          123456 kB\n") == 7600
    assert parse_meminfo("MemFree: 1 kB\n") is None
    assert parse_meminfo("") is None


def test_parse_cpu_max_freqs_and_cpuinfo_hardware() -> None:
    assert parse_cpu_max_freqs("1785600\n1785600\n2841600\n") == [1785600, 1785600, 2841600]
    assert parse_cpu_max_freqs("") == []
    assert cpuinfo_hardware(hw("Qualcomm Technologies, Inc SM8150")) == "Qualcomm Technologies, Inc SM8150"
    assert cpuinfo_hardware("processor\t: 0\n") is None


def test_gpu_renderer_after_a_vendor_name_with_commas() -> None:
    text = (
        "GLES: Samsung Electronics Co., Ltd., ANGLE (Samsung Xclipse 920) on Vulkan 1.1.179, "
        "OpenGL ES 3.2 ANGLE git hash: 4e3cfe8e8bd9\n"
    )
    assert gpu_from_surfaceflinger(text) == "ANGLE (Samsung Xclipse 920) on Vulkan 1.1.179"
