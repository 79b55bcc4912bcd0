"""Video intercom driver: camera supervision, motion, person, masking, doorbell, evidence."""

from drivers.intercom.service import Intercom, IntercomSettings, add_parser, run_intercom, site_intercoms

__all__ = ["Intercom", "IntercomSettings", "add_parser", "run_intercom", "site_intercoms"]
