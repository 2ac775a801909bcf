{{/* Release full name, at most 50 characters so that suffixes (-linux, -windows, -cleanup) fit. */}}
{{- define "vk.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "vk.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The operating systems of the virtual nodes, as a space-separated list of linux/windows. */}}
{{- define "vk.oses" -}}
{{- $t := lower (toString .Values.osType) -}}
{{- if eq $t "linux" -}}linux
{{- else if eq $t "windows" -}}windows
{{- else if eq $t "both" -}}linux windows
{{- else -}}{{ fail (printf "osType must be Linux, Windows or Both, not %q" (toString .Values.osType)) }}
{{- end -}}
{{- end -}}

{{- define "vk.remote" -}}
{{- if .Values.backend.remote.enabled -}}true{{- end -}}
{{- end -}}

{{/* Node name for the OS in .os (dict with root and os). */}}
{{- define "vk.nodeName" -}}
{{- $v := .root.Values -}}
{{- $override := index $v.nodeName .os -}}
{{- if $override -}}
{{- $override -}}
{{- else -}}
{{- $location := required "location is required: the Azure region, for example westeurope (it is part of the node name)" $v.location -}}
{{- printf "virtual-kubelet-%s-%s-%s" $v.connectorName .os $location | lower -}}
{{- end -}}
{{- end -}}

{{- define "vk.serviceAccountName" -}}
{{- default (include "vk.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "vk.credentialsSecretName" -}}
{{- default (printf "%s-azure" (include "vk.fullname" .)) .Values.credentials.existingSecret -}}
{{- end -}}

{{- define "vk.remoteTlsSecretName" -}}
{{- default (printf "%s-backend-tls" (include "vk.fullname" .)) .Values.backend.remote.tls.existingSecret -}}
{{- end -}}

{{- define "vk.remoteTokenSecretName" -}}
{{- default (printf "%s-backend-token" (include "vk.fullname" .)) .Values.backend.remote.token.existingSecret -}}
{{- end -}}

{{- define "vk.remoteTls" -}}
{{- $t := .Values.backend.remote.tls -}}
{{- if or $t.existingSecret $t.caCert $t.clientCert -}}true{{- end -}}
{{- end -}}

{{- define "vk.remoteToken" -}}
{{- $t := .Values.backend.remote.token -}}
{{- if or $t.existingSecret $t.value -}}true{{- end -}}
{{- end -}}

{{/* Whether the chart creates the Azure credentials Secret. */}}
{{- define "vk.createsCredentialsSecret" -}}
{{- if and (not .Values.backend.remote.enabled) (eq .Values.credentials.type "servicePrincipal") (not .Values.credentials.existingSecret) -}}true{{- end -}}
{{- end -}}

{{/* Checks of values that must agree with each other; renders nothing. */}}
{{- define "vk.validate" -}}
{{- $v := .Values -}}
{{- $_ := include "vk.oses" . -}}
{{- if $v.backend.remote.enabled -}}
  {{- if not (hasPrefix "tcp://" (toString $v.backend.remote.address)) -}}
    {{- fail "backend.remote.address must be tcp://host:port of the remote aci-backend" -}}
  {{- end -}}
  {{- if not (include "vk.remoteTls" .) -}}
    {{- fail "backend.remote needs TLS: set backend.remote.tls.existingSecret or backend.remote.tls.caCert" -}}
  {{- end -}}
  {{- if and (not (include "vk.remoteToken" .)) (not (or $v.backend.remote.tls.existingSecret $v.backend.remote.tls.clientCert)) -}}
    {{- fail "backend.remote needs a caller identity: a client certificate (backend.remote.tls) or a token (backend.remote.token)" -}}
  {{- end -}}
  {{- if and $v.backend.remote.tls.clientCert (not $v.backend.remote.tls.clientKey) -}}
    {{- fail "backend.remote.tls.clientCert needs backend.remote.tls.clientKey" -}}
  {{- end -}}
{{- else -}}
  {{- $_ := required "subscriptionId is required (the Azure subscription of the container groups)" $v.subscriptionId -}}
  {{- $_ := required "aciResourceGroup is required (the resource group of the container groups)" $v.aciResourceGroup -}}
  {{- $_ := required "location is required (the Azure region, for example westeurope)" $v.location -}}
  {{- $c := $v.credentials -}}
  {{- if eq $c.type "servicePrincipal" -}}
    {{- $_ := required "credentials.clientId is required for a service principal" $c.clientId -}}
    {{- $_ := required "credentials.tenantId is required for a service principal" $c.tenantId -}}
    {{- if not (or $c.clientSecret $c.existingSecret) -}}
      {{- fail "credentials.clientSecret or credentials.existingSecret is required for a service principal" -}}
    {{- end -}}
  {{- else if eq $c.type "workloadIdentity" -}}
    {{- $_ := required "credentials.clientId is required for workload identity" $c.clientId -}}
    {{- $_ := required "credentials.tenantId is required for workload identity" $c.tenantId -}}
  {{- else if ne $c.type "managedIdentity" -}}
    {{- fail (printf "credentials.type must be servicePrincipal, managedIdentity or workloadIdentity, not %q" $c.type) -}}
  {{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of a cluster-scoped object (or one outside the release namespace): namespace-qualified. */}}
{{- define "vk.clusterName" -}}
{{- printf "%s-%s-%s" .root.Release.Namespace (include "vk.fullname" .root) .suffix -}}
{{- end -}}

{{/* The virtual node names, as a JSON list. */}}
{{- define "vk.nodeNames" -}}
{{- $root := . -}}
{{- $nodes := list -}}
{{- range $os := splitList " " (include "vk.oses" .) -}}
{{- $nodes = append $nodes (include "vk.nodeName" (dict "root" $root "os" $os)) -}}
{{- end -}}
{{- toJson $nodes -}}
{{- end -}}
