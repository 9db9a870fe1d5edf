"""The one unit convention of memlearn, stated once.

Every physical quantity is a plain float or tensor in SI units:
conductance in siemens (S), resistance in ohm, voltage in volt (V), current in
ampere (A), time in seconds (s), energy in joule (J). Helpers below only make
literals readable (``10 * uS``); they are multipliers, not types.
"""

from __future__ import annotations

S = 1.0
mS = 1e-3
uS = 1e-6
nS = 1e-9
ohm = 1.0
kohm = 1e3
Mohm = 1e6
V = 1.0
mV = 1e-3
A = 1.0
uA = 1e-6
s = 1.0
ms = 1e-3
us = 1e-6
ns = 1e-9
J = 1.0
pJ = 1e-12
fJ = 1e-15

HOUR = 3600.0
DAY = 86400.0
MONTH = 30 * DAY
YEAR = 365 * DAY
