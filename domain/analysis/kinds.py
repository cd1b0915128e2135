"""The kinds of analysis job and the parameter model of each (its JSON Schema drives the frontend's form)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel

from domain.core.errors import validated


class AnalysisKind(StrEnum):
    TRAJECTORY_METRICS = "TRAJECTORY_METRICS"
    ANOMALY_DETECTION = "ANOMALY_DETECTION"
    QUALITY_REPORT = "QUALITY_REPORT"
    CLUSTERING = "CLUSTERING"


def parameter_model(kind: AnalysisKind) -> type[BaseModel]:
    # Imported here: the models live beside the computation they parameterise.
    from domain.analysis.anomaly_detection import AnomalyParams
    from domain.analysis.clustering import ClusteringParams
    from domain.analysis.quality_checks import QualityParams
    from domain.analysis.trajectory_metrics import TrajectoryParams

    models: dict[AnalysisKind, type[BaseModel]] = {
        AnalysisKind.TRAJECTORY_METRICS: TrajectoryParams,
        AnalysisKind.ANOMALY_DETECTION: AnomalyParams,
        AnalysisKind.QUALITY_REPORT: QualityParams,
        AnalysisKind.CLUSTERING: ClusteringParams,
    }
    return models[kind]


def parameter_schemas() -> dict[AnalysisKind, dict]:
    return {kind: parameter_model(kind).model_json_schema() for kind in AnalysisKind}


def validate_parameters(kind: AnalysisKind, given: object, field: str = "parameters") -> BaseModel:
    """The kind's parameters with defaults filled in; the first wrong one is BAD_USER_INPUT naming it."""
    return validated(parameter_model(kind), given, field)
