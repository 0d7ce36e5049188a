{{/* Names, labels and the server config shared by every template. */}}

{{- define "rankscope.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "rankscope.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "rankscope.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "rankscope.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "rankscope.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
app.kubernetes.io/name: {{ include "rankscope.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "rankscope.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rankscope.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "rankscope.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "rankscope.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "rankscope.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "rankscope.natsUrl" -}}
{{- if .Values.nats.bundled -}}
{{- printf "nats://%s-nats:4222" (include "rankscope.fullname" .) -}}
{{- else -}}
{{- required "nats.url is required in cluster mode when nats.bundled is false" .Values.nats.url -}}
{{- end -}}
{{- end -}}

{{- define "rankscope.s3SecretName" -}}
{{- default (printf "%s-s3" (include "rankscope.fullname" .)) .Values.objectStorage.s3.existingSecret -}}
{{- end -}}

{{/* Prometheus' usual annotation-driven relabelling for one kubernetes_sd role (pod or endpoints). */}}
{{- define "rankscope.annotationRelabel" -}}
{{- $kind := ternary "pod" "service" (eq .role "pod") -}}
- source_labels: [__meta_kubernetes_{{ $kind }}_annotation_prometheus_io_scrape]
  action: keep
  regex: "true"
- source_labels: [__meta_kubernetes_{{ $kind }}_annotation_prometheus_io_path]
  action: replace
  target_label: __metrics_path__
  regex: (.+)
- source_labels: [__meta_kubernetes_{{ $kind }}_annotation_prometheus_io_scheme]
  action: replace
  target_label: __scheme__
  regex: (https?)
- source_labels: [__address__, __meta_kubernetes_{{ $kind }}_annotation_prometheus_io_port]
  action: replace
  target_label: __address__
  regex: ([^:]+)(?::\d+)?;(\d+)
  replacement: $1:$2
- action: labelmap
  regex: __meta_kubernetes_{{ $kind }}_label_(.+)
- source_labels: [__meta_kubernetes_namespace]
  target_label: namespace
- source_labels: [__meta_kubernetes_{{ .role }}_name]
  target_label: {{ ternary "pod" "service" (eq .role "pod") }}
{{- end -}}

{{/* The server config file: the user's .Values.config under the keys the chart manages. */}}
{{- define "rankscope.serverConfig" -}}
{{- $managed := dict "server" (dict "listen" (printf "0.0.0.0:%d" (int .Values.server.port))) -}}
{{- $store := dict "data_dir" "/data" -}}
{{- if eq .Values.objectStorage.backend "s3" -}}
{{- $s3 := .Values.objectStorage.s3 -}}
{{- $_ := set $store "object_store" (dict "backend" "s3" "s3" (dict "endpoint" $s3.endpoint "bucket" (required "objectStorage.s3.bucket is required with the s3 backend" $s3.bucket) "region" $s3.region "force_path_style" $s3.forcePathStyle "prefix" $s3.prefix)) -}}
{{- end -}}
{{- $_ := set $managed "store" $store -}}
{{- if eq .Values.mode "cluster" -}}
{{- $_ := set $managed "cluster" (dict "enabled" true "nats_urls" (list (include "rankscope.natsUrl" .)) "partitions" (int .Values.cluster.partitions) "replicas" (int .Values.cluster.streamReplicas) "lease_ttl" .Values.cluster.leaseTtl "commit_interval" .Values.cluster.commitInterval) -}}
{{- end -}}
{{- $scrape := list -}}
{{- if .Values.discovery.annotations -}}
{{- $namespaces := dict "names" .Values.discovery.namespaces -}}
{{- $scrape = append $scrape (dict "job_name" "kubernetes-pods" "scrape_interval" .Values.discovery.scrapeInterval "kubernetes_sd_configs" (list (dict "role" "pod" "namespaces" $namespaces)) "relabel_configs" (include "rankscope.annotationRelabel" (dict "role" "pod") | fromYamlArray)) -}}
{{- $scrape = append $scrape (dict "job_name" "kubernetes-service-endpoints" "scrape_interval" .Values.discovery.scrapeInterval "kubernetes_sd_configs" (list (dict "role" "endpoints" "namespaces" $namespaces)) "relabel_configs" (include "rankscope.annotationRelabel" (dict "role" "service") | fromYamlArray)) -}}
{{- end -}}
{{- if $scrape -}}
{{- $_ := set $managed "scrape_configs" $scrape -}}
{{- end -}}
{{- if .Values.discovery.monitors.enabled -}}
{{- $_ := set $managed "kubernetes_monitors" (dict "enabled" true "namespaces" .Values.discovery.namespaces) -}}
{{- end -}}
{{- toYaml (mergeOverwrite (deepCopy .Values.config) $managed) -}}
{{- end -}}
