"""Names of the 0x0200 alarm and status bits (JT/T 808-2019 tables 24 and 25).

The names are English snake_case renderings of the standard's Chinese descriptions, as listed in the
reference data's ``0x0200_alarm_sign.txt`` and ``0x0200_status_sign_*.txt``.
"""

from __future__ import annotations

ALARM_NAMES: tuple[str, ...] = (
    "emergency",  # 0 紧急报警, the SOS button
    "overspeed",  # 1 超速报警
    "fatigue_driving",  # 2 疲劳驾驶
    "danger_warning",  # 3 危险预警
    "gnss_module_fault",  # 4 GNSS模块发生故障
    "gnss_antenna_disconnected",  # 5 GNSS天线未接或被剪断
    "gnss_antenna_short_circuit",  # 6 GNSS天线短路
    "main_power_undervoltage",  # 7 终端主电源欠压
    "main_power_off",  # 8 终端主电源掉电
    "display_fault",  # 9 终端LCD或显示器故障
    "tts_module_fault",  # 10 TTS模块故障
    "camera_fault",  # 11 摄像头故障
    "ic_card_module_fault",  # 12 道路运输证IC卡模块故障
    "overspeed_warning",  # 13 超速预警
    "fatigue_driving_warning",  # 14 疲劳驾驶预警
    "violation_driving_warning",  # 15 违规行驶预警
    "tire_pressure_warning",  # 16 胎压预警
    "right_turn_blind_spot_warning",  # 17 右转盲区预警
    "daily_driving_overtime",  # 18 当天累计驾驶超时
    "parking_overtime",  # 19 超时停车
    "area_in_out",  # 20 进出区域
    "route_in_out",  # 21 进出路线
    "route_driving_time_abnormal",  # 22 路段行驶时间不足/过长
    "route_deviation",  # 23 路线偏离报警
    "vss_fault",  # 24 车辆VSS故障
    "fuel_abnormal",  # 25 车辆油量异常
    "vehicle_stolen",  # 26 车辆被盗(通过车辆防盗器)
    "illegal_ignition",  # 27 车辆非法点火
    "illegal_displacement",  # 28 车辆非法位移
    "collision_warning",  # 29 碰撞预警
    "rollover_warning",  # 30 侧翻预警
    "illegal_door_open",  # 31 非法开门报警
)

# Single-bit status flags by bit number; bits 8-9 (load state) are a two-bit number, not a flag.
STATUS_NAMES: dict[int, str] = {
    0: "acc_on",  # ACC 开
    1: "positioned",  # 定位
    2: "south",  # 南纬
    3: "west",  # 西经
    4: "out_of_service",  # 停运状态
    5: "coordinates_encrypted",  # 经纬度已经保密插件加密
    6: "forward_collision_warning",  # 紧急刹车系统采集的前撞预警 (2019)
    7: "lane_departure_warning",  # 车道偏移预警 (2019)
    10: "fuel_circuit_cut",  # 车辆油路断开
    11: "electric_circuit_cut",  # 车辆电路断开
    12: "doors_locked",  # 车门加锁
    13: "door1_open",  # 门1开 (前门)
    14: "door2_open",  # 门2开 (中门)
    15: "door3_open",  # 门3开 (后门)
    16: "door4_open",  # 门4开 (驾驶席门)
    17: "door5_open",  # 门5开 (自定义)
    18: "gps_used",  # 使用GPS卫星进行定位
    19: "beidou_used",  # 使用北斗卫星进行定位
    20: "glonass_used",  # 使用GLONASS卫星进行定位
    21: "galileo_used",  # 使用Galileo卫星进行定位
    22: "moving",  # 车辆处于行驶状态 (2019)
}

STATUS_POSITIONED = 1 << 1
STATUS_SOUTH = 1 << 2
STATUS_WEST = 1 << 3


def alarm_names(bits: int) -> list[str]:
    return [name for bit, name in enumerate(ALARM_NAMES) if bits >> bit & 1]


def status_names(bits: int) -> list[str]:
    return [name for bit, name in STATUS_NAMES.items() if bits >> bit & 1]
