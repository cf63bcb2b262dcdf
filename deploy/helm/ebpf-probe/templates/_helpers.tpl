{{- define "ebpf-probe.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ebpf-probe.collectorName" -}}
{{- printf "%s-collector" (include "ebpf-probe.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ebpf-probe.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ebpf-probe.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "ebpf-probe.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "ebpf-probe.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: agent
{{- end -}}

{{- define "ebpf-probe.collectorSelectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: collector
{{- end -}}

{{- define "ebpf-probe.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "ebpf-probe.collectorSecret" -}}
{{- default (printf "%s-token" (include "ebpf-probe.collectorName" .)) .Values.collector.auth.existingSecret -}}
{{- end -}}

{{/* The agent's configuration file (docs/config.schema.json). */}}
{{- define "ebpf-probe.agentConfig" -}}
{{- $v := .Values -}}
{{- $otlp := dict "enabled" $v.agent.exporters.otlp.enabled "protocol" $v.agent.exporters.otlp.protocol -}}
{{- if $v.agent.exporters.otlp.endpoint -}}
{{- $_ := set $otlp "endpoint" $v.agent.exporters.otlp.endpoint -}}
{{- else if $v.collector.enabled -}}
{{- $_ := set $otlp "endpoint" (printf "http://%s.%s.svc:%d" (include "ebpf-probe.collectorName" .) .Release.Namespace (int $v.collector.port)) -}}
{{- end -}}
{{- $rw := dict "enabled" $v.agent.exporters.remoteWrite.enabled -}}
{{- if $v.agent.exporters.remoteWrite.url -}}
{{- $_ := set $rw "url" $v.agent.exporters.remoteWrite.url -}}
{{- end -}}
{{- $cfg := dict
  "agent" (dict "pinDir" $v.probe.pinDir "keepPinned" $v.probe.keepPinned "drainTimeoutMs" $v.agent.drainTimeoutMs)
  "probes" (dict
    "process" (dict "enabled" $v.probe.enableProcessExec "maxArgs" $v.probe.process.maxArgs "maxArgBytes" $v.probe.process.maxArgBytes)
    "tcp" (dict "enabled" $v.probe.enableTCPLatency
      "metrics" (dict "labels" $v.probe.tcp.metricLabels "maxSeries" $v.probe.tcp.maxSeries "podLabels" $v.probe.tcp.podLabels)))
  "kubernetes" (dict "enabled" $v.agent.kubernetes.enabled "maxPods" $v.agent.kubernetes.maxPods)
  "workloads" $v.agent.workloads
  "redaction" $v.agent.redaction
  "http" (dict "listen" (printf "0.0.0.0:%d" (int $v.agent.port)) "pprof" $v.agent.pprof "stream" $v.agent.stream
    "auth" (dict "open" (list "metrics" "health")))
  "exporters" (dict "otlp" $otlp "remoteWrite" $rw)
-}}
{{- if $v.agent.policy -}}
{{- $_ := set $cfg "policy" $v.agent.policy -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}
