"""The lab panels of the synthetic clinic (LOINC), with normal and critical limits per analyte."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Analyte:
    """One measured quantity with its normal and critical limits."""

    loinc: str
    name: str
    unit: str
    low: float
    high: float
    crit_low: float | None = None
    crit_high: float | None = None
    decimals: int = 1


PANELS: dict[str, tuple[str, list[Analyte]]] = {
    "58410-2": (
        "CBC panel - Blood by Automated count",
        [
            Analyte("6690-2", "Leukocytes [#/volume] in Blood", "10*3/uL", 4.5, 11.0, 2.0, 30.0),
            Analyte("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 12.0, 17.5, 7.0, 20.0),
            Analyte("4544-3", "Hematocrit [Volume Fraction] of Blood", "%", 36.0, 50.0),
            Analyte("777-3", "Platelets [#/volume] in Blood", "10*3/uL", 150, 400, 50, 1000, 0),
        ],
    ),
    "24323-8": (
        "Comprehensive metabolic panel - Serum or Plasma",
        [
            Analyte(
                "2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", 70, 99, 40, 400, 0
            ),
            Analyte(
                "2951-2",
                "Sodium [Moles/volume] in Serum or Plasma",
                "mmol/L",
                135,
                145,
                120,
                160,
                0,
            ),
            Analyte(
                "2823-3",
                "Potassium [Moles/volume] in Serum or Plasma",
                "mmol/L",
                3.5,
                5.1,
                2.5,
                6.2,
            ),
            Analyte(
                "2160-0",
                "Creatinine [Mass/volume] in Serum or Plasma",
                "mg/dL",
                0.6,
                1.3,
                None,
                4.0,
                2,
            ),
            Analyte(
                "17861-6", "Calcium [Mass/volume] in Serum or Plasma", "mg/dL", 8.6, 10.3, 6.5, 13.0
            ),
        ],
    ),
    "57698-3": (
        "Lipid panel with direct LDL - Serum or Plasma",
        [
            Analyte(
                "2093-3",
                "Cholesterol [Mass/volume] in Serum or Plasma",
                "mg/dL",
                100,
                199,
                None,
                None,
                0,
            ),
            Analyte(
                "18262-6",
                "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay",
                "mg/dL",
                40,
                99,
                None,
                None,
                0,
            ),
            Analyte(
                "2085-9",
                "Cholesterol in HDL [Mass/volume] in Serum or Plasma",
                "mg/dL",
                40,
                90,
                None,
                None,
                0,
            ),
            Analyte(
                "2571-8",
                "Triglyceride [Mass/volume] in Serum or Plasma",
                "mg/dL",
                40,
                149,
                None,
                1000,
                0,
            ),
        ],
    ),
    "4548-4": (
        "Hemoglobin A1c/Hemoglobin.total in Blood",
        [
            Analyte(
                "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 4.0, 5.6, None, 14.0
            ),
        ],
    ),
    "3016-3": (
        "Thyrotropin [Units/volume] in Serum or Plasma",
        [
            Analyte(
                "3016-3",
                "Thyrotropin [Units/volume] in Serum or Plasma",
                "m[IU]/L",
                0.4,
                4.0,
                None,
                50.0,
                2,
            ),
        ],
    ),
    "24356-8": (
        "Urinalysis complete panel - Urine",
        [
            Analyte("5803-2", "pH of Urine by Test strip", "[pH]", 5.0, 8.0),
            Analyte(
                "5811-5",
                "Specific gravity of Urine by Test strip",
                "{SG}",
                1.005,
                1.030,
                None,
                None,
                3,
            ),
        ],
    ),
}
