{{/* The server pod spec, shared by the single-node StatefulSet and the cluster Deployment. */}}
{{- define "rankscope.serverPod" -}}
metadata:
  labels:
    {{- include "rankscope.selectorLabels" . | nindent 4 }}
    app.kubernetes.io/component: server
  annotations:
    checksum/config: {{ include "rankscope.serverConfig" . | sha256sum }}
    {{- with .Values.server.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "rankscope.serviceAccountName" . }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 10001
    fsGroup: 10001
  terminationGracePeriodSeconds: 45
  containers:
    - name: rankscope
      image: {{ include "rankscope.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - server
        - --config=/etc/rankscope/rankscope.yaml
        {{- range .Values.server.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      env:
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        {{- if and (eq .Values.objectStorage.backend "s3") (or .Values.objectStorage.s3.existingSecret .Values.objectStorage.s3.accessKeyId) }}
        - name: AWS_ACCESS_KEY_ID
          valueFrom:
            secretKeyRef:
              name: {{ include "rankscope.s3SecretName" . }}
              key: AWS_ACCESS_KEY_ID
        - name: AWS_SECRET_ACCESS_KEY
          valueFrom:
            secretKeyRef:
              name: {{ include "rankscope.s3SecretName" . }}
              key: AWS_SECRET_ACCESS_KEY
        {{- end }}
        {{- with .Values.server.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: http
          containerPort: {{ .Values.server.port }}
          protocol: TCP
      readinessProbe:
        httpGet:
          path: /ready
          port: http
        periodSeconds: 5
      livenessProbe:
        httpGet:
          path: /ready
          port: http
        initialDelaySeconds: 60
        periodSeconds: 20
        failureThreshold: 6
      resources:
        {{- toYaml .Values.server.resources | nindent 8 }}
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities:
          drop: [ALL]
      volumeMounts:
        - name: config
          mountPath: /etc/rankscope
        - name: data
          mountPath: /data
  volumes:
    - name: config
      configMap:
        name: {{ include "rankscope.fullname" . }}
    {{- if eq .Values.mode "cluster" }}
    - name: data
      emptyDir:
        sizeLimit: {{ .Values.cluster.cacheSize }}
    {{- else if not .Values.persistence.enabled }}
    - name: data
      emptyDir: {}
    {{- end }}
  {{- with .Values.server.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.server.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.server.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
