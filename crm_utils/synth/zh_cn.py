"""The ``zh_CN`` locale: a synthetic shop in mainland China (``crm-report generate --locale zh_CN``).

The same planted world as the default shop, written as a Chinese shop's export would be:
five provinces as regions (their cities), Chinese names from Faker's ``zh_CN`` lists (e-mail
addresses from its romanized names), mobile numbers (+86), notes and survey comments in
Simplified Chinese that voice the same needs and satisfaction themes as the English ones,
prices in yuan, China's public holidays (``holidays`` package, ``CN``) declared in ``mapping.yml``,
and China's retail events: the Spring Festival shopping season (年货节), 618 and Singles' Day.

Category names, service topics and other codes stay the kit's codes, as an export's would.
"""

from __future__ import annotations

import holidays as holidays_lib
import numpy as np
import pandas as pd

from crm_utils.synth.locales import Locale

#: Provinces (shares of customers) and five of their cities each; all keep China's national holidays.
REGIONS: dict[str, dict] = {
    "广东省": dict(code="CN", share=0.30, calling="86", mobile=("13", 11), locale="zh_CN",
                 cities=["广州", "深圳", "东莞", "佛山", "珠海"]),
    "浙江省": dict(code="CN", share=0.22, calling="86", mobile=("13", 11), locale="zh_CN",
                 cities=["杭州", "宁波", "温州", "绍兴", "嘉兴"]),
    "江苏省": dict(code="CN", share=0.20, calling="86", mobile=("13", 11), locale="zh_CN",
                 cities=["南京", "苏州", "无锡", "常州", "南通"]),
    "山东省": dict(code="CN", share=0.15, calling="86", mobile=("13", 11), locale="zh_CN",
                 cities=["济南", "青岛", "烟台", "潍坊", "临沂"]),
    "四川省": dict(code="CN", share=0.13, calling="86", mobile=("13", 11), locale="zh_CN",
                 cities=["成都", "绵阳", "德阳", "宜宾", "南充"]),
}

#: Items a note asks about, per category (the same categories as the English ones).
NEED_ITEMS: dict[str, list[str]] = {
    "Electronics": ["笔记本电脑", "蓝牙耳机", "手机充电器", "平板电脑", "智能手表", "液晶电视"],
    "Home & Kitchen": ["咖啡机", "不粘锅", "榨汁机", "羽绒被", "电水壶", "菜刀套装"],
    "Fashion": ["羽绒服", "牛仔裤", "婚礼礼服", "皮靴", "夹克"],
    "Beauty": ["面霜", "香水", "洗发水", "彩妆套装", "防晒霜"],
    "Sports & Outdoors": ["跑鞋", "帐篷", "瑜伽垫", "骑行头盔", "登山包"],
    "Toys & Games": ["桌游", "乐高积木", "娃娃屋", "拼图", "玩具车"],
    "Books": ["菜谱", "小说", "旅游指南", "儿童绘本", "人物传记"],
    "Grocery": ["咖啡豆", "橄榄油", "茶叶礼盒", "意大利面", "零食礼包"],
    "Garden": ["割草机", "浇花水管", "花卉种子", "庭院椅", "绿篱修剪机"],
    "Pet Supplies": ["狗粮", "猫砂", "狗窝", "鸟食", "逗猫棒"],
}
NEED_TEMPLATES = [
    "客户询问{item}是否有货。",
    "想买{item}，请客服推荐一下。",
    "咨询如何在预算内挑选{item}。",
    "下单前询问{item}的发货时间。",
    "对{item}感兴趣，问有没有优惠。",
    "比较了两款{item}，过几天再决定。",
    "询问{item}的尺码和参数。",
]
SERVICE_NOTES: dict[str, list[str]] = {
    "order_status": ["询问包裹到哪里了，已提供物流单号。",
                     "想知道订单什么时候发货。",
                     "查询上周订单的状态。"],
    "delivery_problem": ["包裹送错了地址，已重新发货。",
                         "包裹到货时已破损，已寄出替换件。",
                         "快递员没有上门，已重新预约配送。"],
    "return_request": ["申请退货面单。",
                       "商品尺码不合适，已开通退货。",
                       "询问退货后多久能退款。"],
    "billing": ["重复扣款，多付的款项已退回。",
                "索要发票副本。",
                "付款失败，已协助核对银行卡信息。"],
    "account": ["申请重置密码。",
                "要求更新账户上的收货地址。",
                "想要退订促销邮件。"],
}
#: Survey comments per satisfaction archetype, in ARCHETYPES order: Delighted, Price-sensitive,
#: Delivery-frustrated, Service-unhappy (the same themes as the English comments).
COMMENTS: tuple[tuple[str, ...], ...] = (
    ("质量很好，物流也很快，还会再来买。",
     "东西准时送到，用起来非常满意。",
     "对产品和服务都很满意。",
     "下单方便，质量一流，谢谢！",
     "很喜欢这家店，已经推荐给朋友了。"),
    ("东西不错，但比别家贵太多了。",
     "又涨价了，下次等打折再买。",
     "质量还行，价格太贵。",
     "小额订单的运费太贵了。",
     "只是因为有优惠券才买的。"),
    ("包裹晚到了一个星期，盒子还压坏了。",
     "配送太慢，物流信息一直不更新。",
     "快递员把包裹放在门外淋雨。",
     "订单被拆成三个包裹，其中一个一直没到。",
     "产品还可以，但配送简直是灾难。"),
    ("关于退款的邮件一直没有人回复。",
     "客服没解决任何问题就把工单关了。",
     "打客服电话等了四十分钟也没人帮忙。",
     "在线客服态度恶劣，一点帮助都没有。",
     "一个月前承诺的退款到现在还没收到。"),
)

#: Name of the first day of the Spring Festival in the ``holidays`` package's calendar for China.
SPRING_FESTIVAL = "Chinese New Year (Spring Festival)"
#: The Spring Festival shopping season (年货节): the two weeks before couriers stop, three days
#: before the festival; demand rises through it (boost from its first to its last day).
SPRING_SHOPPING_DAYS = (3, 16)  # days before the festival: last, first
SPRING_SHOPPING_BOOST = (1.2, 1.6)  # first day, last day


def spring_festival(year: int) -> pd.Timestamp:
    """The first day of the Spring Festival (Chinese New Year) in ``year``, from ``holidays``."""
    days = [d for d, name in holidays_lib.country_holidays("CN", years=[year]).items() if name == SPRING_FESTIVAL]
    if not days:
        raise ValueError(f"the holidays package names no '{SPRING_FESTIVAL}' in {year}")
    return pd.Timestamp(min(days))


def retail_events(years: list[int]) -> pd.DataFrame:
    """China's retail event days with their demand boost: the Spring Festival shopping season (年货节),
    618 (June 18, with its two run-up days) and Singles' Day (11.11), the year's largest."""
    rows = []
    last, first = SPRING_SHOPPING_DAYS
    for y in years:
        sf = spring_festival(y)
        for k in range(first, last - 1, -1):
            step = (first - k) / (first - last)
            boost = SPRING_SHOPPING_BOOST[0] + step * (SPRING_SHOPPING_BOOST[1] - SPRING_SHOPPING_BOOST[0])
            rows.append((sf - pd.Timedelta(days=k), "Spring Festival shopping 年货节", round(boost, 3)))
        rows += [(pd.Timestamp(y, 6, 16), "618 run-up", 1.3), (pd.Timestamp(y, 6, 17), "618 run-up", 1.3),
                 (pd.Timestamp(y, 6, 18), "618", 2.4),
                 (pd.Timestamp(y, 11, 11), "Singles' Day 11.11 双十一", 3.0)]
    return pd.DataFrame(rows, columns=["date", "event", "boost"])


def no_ramp(days: pd.DatetimeIndex) -> np.ndarray:
    """No season-long ramp beyond the retail events (the Spring Festival season is one of them)."""
    return np.ones(len(days))


LOCALE = Locale(
    name="zh_CN", regions=REGIONS, need_items=NEED_ITEMS, need_templates=NEED_TEMPLATES,
    service_notes=SERVICE_NOTES, comments=COMMENTS,
    contact_phrases=("请发邮件到 jo.{d0_5}@example.net 联系我", "请回电 +86 13{d0_1} {d1_5} {d5_9}",
                     "我的电话是 0{d0_2}-{d2_9}"),
    # Prices in yuan: the euro catalogue at about 7.8 yuan a euro (2025-26 rates), so amounts are plausible.
    currency="CNY", price_factor=7.8,
    mapping_yml="# Written by `crm-report generate --locale zh_CN`: the synthetic shop's prices are in yuan (CNY),\n"
                "# and its customers' regions are provinces of mainland China (China's public holidays).\n"
                "currency: CNY\nholidays: {country: CN}\nretail_events: [spring_festival, mid_year_618, singles_day]\n",
    retail_events=retail_events, season_ramp=no_ramp,
    test_account_place=("广东省", "广州", "+86 130 0000 0000"),
    name_order="last first", romanized_email=True,
)
