"""Every table, one model file each; import from here."""

from openwan.models.asset import Asset, AssetStatus, AssetType, MediaState
from openwan.models.base import Base, utcnow
from openwan.models.category import Category
from openwan.models.job import Job, JobState
from openwan.models.rendition import Rendition
from openwan.models.upload import Upload
from openwan.models.user import User

__all__ = [
    "Asset",
    "AssetStatus",
    "AssetType",
    "Base",
    "Category",
    "Job",
    "JobState",
    "MediaState",
    "Rendition",
    "Upload",
    "User",
    "utcnow",
]
