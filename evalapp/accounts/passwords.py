"""How guessable a password is: zxcvbn, taught the passwords Chinese guessers try first and the
holder's own name (in pinyin) and phone number.

zxcvbn estimates the guesses an attacker needs, trying dictionary words, names, keyboard patterns,
dates, sequences and l33t substitutions in combination. Its English lists lack what Chinese
users pick: pinyin surnames and given names, 5201314 ("I love you for ever"), woaini, 7758521, QQ…
Those are added here, and the holder's name and phone are passed as words of their own.

Both libraries are imported on first use only: starting a worker stays quick, and only workers
that check a password carry the dictionaries (a few MB).
"""
import functools
import importlib.util
import json
import re
import unicodedata
from pathlib import Path

#: zxcvbn's score (0–4) a password needs. 3: "safely unguessable", about 10⁸ guesses or more;
#: enough against online guessing (which the lock-out slows further) and costly offline.
MIN_SCORE = 3
#: zxcvbn refuses longer input; the rest of a longer password only adds strength.
ZXCVBN_MAX_LENGTH = 72

#: Passwords, words and numbers Chinese users choose, most common first (from published analyses of
#: leaked Chinese password lists: CSDN, 天涯, 人人网…); surnames and names in pinyin, and the
#: Cantonese spellings common in Jiangmen and among overseas Chinese.
CHINESE_COMMON = """
    123456 123456789 12345678 111111 000000 11111111 00000000 123123 5201314 666666 888888 88888888
    1314520 7758521 147258369 123321 654321 112233 987654321 11223344 123123123 1qaz2wsx 1q2w3e4r
    qq123456 a123456 woaini woaini1314 aini1314 520520 5211314 521521 1314 520 woaini520 iloveyou
    iloveyou1314 584131421 7758258 147258 159357 258369 741852963 789456123 123654789 110110 12344321
    31415926 qwe123 123qwe 1234qwer qwer1234 abc123 abc123456 a123456789 zxc123 asd123 qaz123 wodemima
    mima woshishui nihao haha hehe baobao laopo laogong xiaobao wocao tianya dearbook xiazhili
    zhongguo beijing shanghai guangzhou shenzhen guangdong jiangmen xinhui taishan kaiping enping
    heshan pengjiang jianghai gonghui zonggonghui qq weixin wechat taobao
    wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo zheng liang xie
    song tang han feng deng cao peng zeng xiao tian dong yuan pan cai jiang yu du ye cheng su lu ding
    ren shen yao cui zhong tan fan liao shi jin wei jia xia fu fang zou xiong bai meng qin qiu hou yin
    xue yan duan lei long tao gu mao hao gong shao wan qian dai mo kong xiang chang ou ouyang situ
    wong chan leung lee cheung lam ng ho chow yeung tsang kwok lau chu tse fung mak yip kwan
    wei fang min jing li qiang lei jun yong jie juan tao yan chao ming xia hui hua ping gang hong
    ying na lin jian bin bo hao yu xin jia yi hong tian long fei peng zhi yun hai kai jun dan
    zhangwei wangwei wangfang liwei lina zhangmin lijing wangjing liuwei wangxiuying zhangli lixiuying
    wangli zhangjing zhangxiuying liqiang wangmin limin wanglei liuyang wangyan wangyong lijun
    zhangyong lijie zhangjie zhanglei wangqiang lijuan wangjun zhangyan zhangtao wangtao liyan
    wangchao liming liyong wangjuan liujie liumin lixia lili wangxiuzhen zhangjun wanghao chenjing
    chenwei liuyan liufang wanghui yangyang
    """.split()

#: zxcvbn's feedback in Chinese (it has no catalogue of its own).
CHINESE_FEEDBACK = {
    "Use a few words, avoid common phrases.": "可以用几个不相关的词组合起来，避免常见的说法。",
    "No need for symbols, digits, or uppercase letters.": "不一定需要符号、数字或大写字母，长一些更重要。",
    "Add another word or two. Uncommon words are better.": "再加一两个词，不常见的词更好。",
    "Straight rows of keys are easy to guess.": "键盘上连成一排的按键很容易被猜到。",
    "Short keyboard patterns are easy to guess.": "简短的键盘按键规律很容易被猜到。",
    "Use a longer keyboard pattern with more turns.": "如果用键盘规律，请用更长、转折更多的。",
    'Repeats like "aaa" are easy to guess.': "像“aaa”这样的重复很容易被猜到。",
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': "像“abcabcabc”这样的重复并不比“abc”难猜多少。",
    "Avoid repeated words and characters.": "避免重复的词和字符。",
    'Sequences like "abc" or "6543" are easy to guess.': "像“abc”“6543”这样的顺序很容易被猜到。",
    "Avoid sequences.": "避免顺序排列的字符。",
    "Recent years are easy to guess.": "近些年的年份很容易被猜到。",
    "Avoid recent years.": "避免使用近些年的年份。",
    "Avoid years that are associated with you.": "避免使用与您有关的年份。",
    "Dates are often easy to guess.": "日期通常很容易被猜到。",
    "Avoid dates and years that are associated with you.": "避免使用与您有关的日期和年份（如生日）。",
    "This is a top-10 common password.": "这是最常用的十个密码之一。",
    "This is a top-100 common password.": "这是最常用的一百个密码之一。",
    "This is a very common password.": "这是非常常见的密码。",
    "This is similar to a commonly used password.": "这与常见密码很相似。",
    "A word by itself is easy to guess.": "单独一个词很容易被猜到。",
    "Names and surnames by themselves are easy to guess.": "单独的姓名（包括拼音）很容易被猜到。",
    "Common names and surnames are easy to guess.": "常见的姓名（包括拼音）很容易被猜到。",
    "Capitalization doesn't help very much.": "大写字母帮助不大。",
    "All-uppercase is almost as easy to guess as all-lowercase.": "全部大写和全部小写几乎一样容易猜到。",
    "Reversed words aren't much harder to guess.": "把词倒过来写并不会难猜多少。",
    "Predictable substitutions like '@' instead of 'a' don't help very much.": "用“@”代替“a”这类替换帮助不大。",
}
PERSONAL_HINT = "不要用自己的姓名（包括拼音）、手机号或生日。"


def weakness(password, user_inputs=()):
    """Return why `password` is too easy to guess (in Chinese), or None when it is strong enough.

    `user_inputs`: words about the holder (login name, name, phone); see `personal_words`.
    """
    result = _zxcvbn()(password[:ZXCVBN_MAX_LENGTH], user_inputs=[word for word in user_inputs if word])
    if result["score"] >= MIN_SCORE:
        return None
    feedback = result.get("feedback") or {}
    personal = any(match.get("dictionary_name") == "user_inputs" for match in result.get("sequence", []))
    hints = [PERSONAL_HINT] if personal else []
    hints += [_chinese(text) for text in [feedback.get("warning"), *feedback.get("suggestions", [])] if text]
    return "密码太容易被猜到，请换一个。" + "".join(dict.fromkeys(hint for hint in hints if hint))


def personal_words(name=None, phone=None, username=None):
    """The words a guesser who knows the holder tries: name in pinyin (whole, parts, initials),
    phone number and its tails, login name."""
    words = []
    for syllables in _name_readings(name):
        surname, given = syllables[0], "".join(syllables[1:])
        words += ["".join(syllables), given + surname, surname, given, "".join(s[0] for s in syllables),
                  surname + "".join(s[0] for s in syllables[1:]), *syllables]
    if name:
        words.append(name)
    for number in (phone, username):
        if number:
            words.append(number)
            digits = re.sub(r"\D", "", number)
            if len(digits) >= 8:
                words += [digits[-4:], digits[-6:], digits[-8:], digits[:3] + digits[-4:]]
    return list(dict.fromkeys(word.lower() for word in words if word))


def _name_readings(name):
    """Pinyin syllables (toneless) of the Chinese name in `name`: one list per reading of the surname."""
    han = [token for token in re.split(r"[\s·•]+", name or "") if token and all(_is_han(char) for char in token)]
    if not han:
        return []
    chars = han[-1]  # "市总工会 李志强" → the person's name
    readings = [_pinyin(char) for char in chars]
    if not all(readings):
        return []
    given = [reading[0] for reading in readings[1:]]
    return [[surname, *given] for surname in readings[0]]


def _is_han(char):
    return "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff"


def _pinyin(char):
    """The toneless readings of one character ("曾" → ["zeng", "ceng"]); ü is written v, as typed."""
    readings = _pinyin_table().get(ord(char), "")
    toneless = []
    for reading in readings.split(","):
        plain = reading.replace("ü", "v")
        plain = "".join(c for c in unicodedata.normalize("NFKD", plain) if not unicodedata.combining(c))
        if plain and plain not in toneless:
            toneless.append(plain)
    return toneless


@functools.cache
def _pinyin_table():
    """pypinyin's character table ({code point: "zhāng,zhàng"}), without importing pypinyin itself.

    Importing the package loads its phrase dictionary too (about 0.7 s and 50 MB); a name needs only
    the per-character readings (0.1 s, 7 MB). Falls back to the package's own import.
    """
    spec = importlib.util.find_spec("pypinyin")
    data = Path(spec.submodule_search_locations[0]) / "pinyin_dict.json" if spec else None
    if data is not None and data.is_file():
        return {int(code): readings for code, readings in json.loads(data.read_text("utf-8")).items()}
    from pypinyin.pinyin_dict import pinyin_dict

    return pinyin_dict


@functools.cache
def _zxcvbn():
    from zxcvbn import matching, zxcvbn

    matching.add_frequency_lists({"chinese_common": CHINESE_COMMON})
    return zxcvbn


def _chinese(text):
    return CHINESE_FEEDBACK.get(text, "")
