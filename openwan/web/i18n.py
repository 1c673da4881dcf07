"""The web UI speaks Chinese and English: one table of strings, chosen per request."""

from __future__ import annotations

from starlette.requests import Request

STRINGS: dict[str, dict[str, str]] = {
    "app": {"zh": "OpenWan 媒资管理", "en": "OpenWan Media Assets"},
    "search": {"zh": "检索", "en": "Search"},
    "upload": {"zh": "上传", "en": "Upload"},
    "review": {"zh": "审核", "en": "Review"},
    "admin": {"zh": "管理", "en": "Administration"},
    "login": {"zh": "登录", "en": "Sign in"},
    "logout": {"zh": "退出", "en": "Sign out"},
    "username": {"zh": "用户名", "en": "Username"},
    "password": {"zh": "密码", "en": "Password"},
    "bad_login": {"zh": "用户名或密码错误", "en": "Wrong username or password"},
    "query": {"zh": "输入关键词，例如 夜景 或 news", "en": "Keywords, e.g. 夜景 or news"},
    "all_types": {"zh": "全部类型", "en": "All types"},
    "video": {"zh": "视频", "en": "Video"},
    "audio": {"zh": "音频", "en": "Audio"},
    "image": {"zh": "图片", "en": "Image"},
    "document": {"zh": "文档", "en": "Document"},
    "results": {"zh": "条结果", "en": "results"},
    "no_results": {"zh": "没有找到", "en": "Nothing found"},
    "choose_files": {"zh": "选择文件（可多选，支持断点续传）",
                     "en": "Choose files (several at once; resumable)"},
    "title": {"zh": "标题", "en": "Title"},
    "category": {"zh": "分类", "en": "Category"},
    "status": {"zh": "状态", "en": "Status"},
    "media_state": {"zh": "处理状态", "en": "Processing"},
    "level": {"zh": "密级", "en": "Level"},
    "size": {"zh": "大小", "en": "Size"},
    "uploaded": {"zh": "上传时间", "en": "Uploaded"},
    "download": {"zh": "下载原件", "en": "Download original"},
    "save": {"zh": "保存", "en": "Save"},
    "submit": {"zh": "提交审核", "en": "Submit for review"},
    "approve": {"zh": "通过发布", "en": "Approve and publish"},
    "reject": {"zh": "退回", "en": "Send back"},
    "delete": {"zh": "删除", "en": "Delete"},
    "restore": {"zh": "恢复", "en": "Restore"},
    "comment": {"zh": "退回意见", "en": "Comment"},
    "metadata": {"zh": "编目信息", "en": "Catalogue"},
    "technical": {"zh": "技术参数", "en": "Technical"},
    "pending": {"zh": "待审核", "en": "Awaiting review"},
    "users": {"zh": "用户", "en": "Users"},
    "groups": {"zh": "组", "en": "Groups"},
    "categories": {"zh": "分类", "en": "Categories"},
    "done": {"zh": "完成", "en": "Done"},
    "failed": {"zh": "失败", "en": "Failed"},
    "duplicate": {"zh": "重复文件，已存在", "en": "Duplicate of existing asset"},
    "language": {"zh": "English", "en": "中文"},
}


def language(request: Request) -> str:
    chosen = request.query_params.get("lang") or request.cookies.get("openwan_lang")
    if chosen in ("zh", "en"):
        return chosen
    accept = request.headers.get("accept-language", "").lower()
    return "zh" if accept.startswith("zh") else "en"


def strings(lang: str) -> dict[str, str]:
    return {key: values[lang] for key, values in STRINGS.items()}
